import { latestBy } from './fact-order';
import type { Course, CourseFact, Lesson, LessonFact, ProgressFact, Section, SectionFact } from './facts';

/**
 * Course structure (rules.md, "Course structure"): which lessons count, and the sections.
 *
 * Registers are keyed within the course: a section is (course, section id), a lesson is
 * (course, lesson id). Facts of other courses passed in by mistake are ignored.
 */

/** Everything needed to derive one course's structure. Arrays may hold any number of facts per
 * register, in any order, with duplicates: only the latest fact of each register is used. */
export type CourseUpsertFact = Extract<CourseFact, { deleted: false }>;

export interface CourseFacts {
  courseId: number;
  /** The course's latest fact, or undefined when none was seen. */
  course: CourseFact | undefined;
  /**
   * The course's latest upsert, or undefined when none was seen. It differs from `course` only
   * while a deletion is the latest fact: it is what a deleted course still shows (api.md).
   */
  lastUpsert: CourseUpsertFact | undefined;
  sections: readonly SectionFact[];
  lessons: readonly LessonFact[];
}

export interface CourseStructure {
  courseId: number;
  /** At least one course fact (upsert or deletion) was seen. */
  courseKnown: boolean;
  /** The course's latest fact is a deletion. */
  courseDeleted: boolean;
  /** The live snapshot: null when never seen or deleted. */
  course: Course | null;
  /** The live snapshot, or while deleted the latest upsert before the deletion; null when no upsert was seen. */
  lastKnownCourse: Course | null;
  /** Counting lessons by id (published, section not deleted, course not deleted). */
  countingLessons: ReadonlyMap<number, Lesson>;
  /** = countingLessons.size */
  numLessons: number;
  /** Distinct section ids holding at least one counting lesson (a section never seen included). */
  numSections: number;
  /** Sections whose latest fact is an upsert, by position then id; [] when the course is deleted. */
  liveSections: readonly Section[];
}

export function deriveCourseStructure(facts: CourseFacts): CourseStructure {
  const { courseId } = facts;
  const courseFact = facts.course && facts.course.courseId === courseId ? facts.course : undefined;
  const courseDeleted = courseFact?.deleted === true;
  const course = courseFact && !courseFact.deleted ? courseFact.course : null;
  const lastUpsert = facts.lastUpsert && facts.lastUpsert.courseId === courseId ? facts.lastUpsert : undefined;
  const lastKnownCourse = course ?? (courseDeleted && lastUpsert ? lastUpsert.course : null);

  const sections = latestBy(
    facts.sections.filter((f) => f.courseId === courseId),
    (f) => f.sectionId,
  );
  const lessons = latestBy(
    facts.lessons.filter((f) => f.courseId === courseId),
    (f) => f.lessonId,
  );

  const countingLessons = new Map<number, Lesson>();
  if (!courseDeleted) {
    for (const f of lessons.values()) {
      if (f.deleted || f.lesson.status !== 'published') continue;
      if (sections.get(f.lesson.section_id)?.deleted === true) continue;
      countingLessons.set(f.lessonId, f.lesson);
    }
  }
  const countingSectionIds = new Set([...countingLessons.values()].map((l) => l.section_id));

  const liveSections: Section[] = [];
  if (!courseDeleted) {
    for (const f of sections.values()) if (!f.deleted) liveSections.push(f.section);
    liveSections.sort((a, b) => a.position - b.position || a.id - b.id);
  }

  return {
    courseId,
    courseKnown: courseFact !== undefined,
    courseDeleted,
    course,
    lastKnownCourse,
    countingLessons,
    numLessons: countingLessons.size,
    numSections: countingSectionIds.size,
    liveSections,
  };
}

/** Lessons whose latest completion/uncompletion fact is a completion, with that fact's time. */
export function completedLessons(progress: readonly ProgressFact[]): Map<number, string> {
  const out = new Map<number, string>();
  for (const [lessonId, f] of latestBy(progress, (p) => p.lessonId)) if (f.completed) out.set(lessonId, f.meta.time);
  return out;
}

/** floor(100 × completed / total) with integers only; 0 when total is 0. */
export function completionRate(completed: number, total: number): number {
  if (total <= 0) return 0;
  const n = 100 * completed;
  return (n - (n % total)) / total;
}

/**
 * 100 × completed / total rounded half up to 2 decimals, with integers only (1/3 → 33.33,
 * 2/3 → 66.67, 1/32 → 3.13); 0 when total is 0. The result is the double nearest to that decimal.
 */
export function progressPercent(completed: number, total: number): number {
  if (total <= 0) return 0;
  // hundredths = round(10000 × c / t) = floor((20000 × c + t) / (2t))
  const num = 20000 * completed + total;
  const den = 2 * total;
  const hundredths = (num - (num % den)) / den;
  return hundredths / 100;
}
