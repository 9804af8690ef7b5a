/**
 * The community course views (api.md): per-section lesson counts for a user, `sections_order`,
 * and the course average.
 *
 * Decisions:
 * - `sections_order` / `sections` list the sections whose latest fact is an upsert, by position
 *   then id; a deleted course has none. Counting lessons in a section never seen are counted in
 *   `num_lessons` / `num_sections` but appear in no `sections` entry (it has no name or position).
 * - `num_lessons` and `num_sections` do not depend on the user and are always filled; without a
 *   user, `join_status` is null and `num_lessons_completed` / `user_completion_rate` are 0.
 * - With a user, completed lessons come from their progress facts whether or not the enrollment
 *   exists (the API decides whether to show them).
 * - A deleted course keeps its last known fields (api.md): the latest upsert, which a deletion
 *   cannot supersede as a snapshot, only as the course's state. A course only ever seen as a
 *   deletion has none (`course: null`).
 */
import { completedLessons, completionRate, deriveCourseStructure } from './course-structure';
import type { CourseFacts } from './course-structure';
import { deriveMembership } from './enrollment';
import type { Course, JoinStatus, MembershipFact, ProgressFact } from './facts';

export interface CourseViewUserFacts {
  userId: number;
  /** The enrollment's membership facts (any order, duplicates allowed). */
  memberships: readonly MembershipFact[];
  /** The enrollment's progress facts (any order, duplicates allowed). */
  progress: readonly ProgressFact[];
}

export interface SectionSummary {
  id: number;
  name: string;
  num_lessons: number;
  num_lessons_completed: number;
}

export interface CourseView {
  courseId: number;
  /** At least one course fact was seen (else the API answers 404). */
  known: boolean;
  deleted: boolean;
  /** The live snapshot, or for a deleted course its last known one; null when no upsert was seen. */
  course: Course | null;
  sections_order: number[];
  sections: SectionSummary[];
  num_lessons: number;
  num_sections: number;
  join_status: JoinStatus | null;
  num_lessons_completed: number;
  user_completion_rate: number;
}

export function deriveCourseView(facts: CourseFacts, user?: CourseViewUserFacts): CourseView {
  const structure = deriveCourseStructure(facts);
  const mine = (f: { courseId: number; userId: number }) => user !== undefined && f.courseId === facts.courseId && f.userId === user.userId;
  const completed = user ? completedLessons(user.progress.filter(mine)) : new Map<number, string>();
  const joinStatus = user ? deriveMembership(user.memberships.filter(mine)).joinStatus : null;

  const sections = structure.liveSections.map((s) => {
    let numLessons = 0;
    let numCompleted = 0;
    for (const [lessonId, lesson] of structure.countingLessons) {
      if (lesson.section_id !== s.id) continue;
      numLessons++;
      if (completed.has(lessonId)) numCompleted++;
    }
    return { id: s.id, name: s.name, num_lessons: numLessons, num_lessons_completed: numCompleted };
  });
  let numCompleted = 0;
  for (const lessonId of structure.countingLessons.keys()) if (completed.has(lessonId)) numCompleted++;

  return {
    courseId: facts.courseId,
    known: structure.courseKnown,
    deleted: structure.courseDeleted,
    course: structure.lastKnownCourse,
    sections_order: structure.liveSections.map((s) => s.id),
    sections,
    num_lessons: structure.numLessons,
    num_sections: structure.numSections,
    join_status: joinStatus,
    num_lessons_completed: numCompleted,
    user_completion_rate: completionRate(numCompleted, structure.numLessons),
  };
}

/**
 * `avg_completion_rate`: the mean of the given rates rounded half up to an integer; 0 when empty.
 * The caller passes the `user_completion_rate` of the course's existing, non-deleted enrollments
 * whose `join_status` is `joined`. Rates are integers, so this is exact integer arithmetic.
 */
export function avgCompletionRate(rates: readonly number[]): number {
  if (rates.length === 0) return 0;
  const sum = rates.reduce((a, b) => a + b, 0);
  if (!rates.every(Number.isInteger)) return Math.floor(sum / rates.length + 0.5);
  return avgCompletionRateOfSum(sum, rates.length);
}

/** `avgCompletionRate` of `count` integer rates that add up to `sum` (per-course counters). */
export function avgCompletionRateOfSum(sum: number, count: number): number {
  if (count === 0) return 0;
  const num = 2 * sum + count;
  const den = 2 * count;
  return (num - (num % den)) / den;
}
