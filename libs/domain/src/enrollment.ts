/**
 * Derivation of one enrollment (course, user) from its facts: rules.md made executable.
 *
 * Pure: no I/O, no clock (the wall clock comes in as `ctx.now`). Every function takes arrays in
 * any order, with any duplication (same source+id = one event), and with any number of facts per
 * register (only the latest counts).
 *
 * Decisions where rules.md leaves room (keep in sync with the docs):
 *
 * 1. Period with no non-null fact (every membership fact is `null`): there is no period, so
 *    `assigned_at`, `assigned_by` and `enrolled_at` are null. A withdrawn enrollment (latest fact
 *    null) keeps the dates of the period before it, as the rule literally says.
 * 2. Assignment and `custom_fields` come from the latest membership fact that carries them among
 *    ALL the enrollment's membership facts, not only the period's: events.md says an absent
 *    assignment leaves it unchanged, and a `null` join_status fact does not clear it.
 * 3. `assigned_by` is the actor of the period's first `invited` fact; null when that fact has no
 *    actor (other invited facts are not searched).
 * 4. `user.name`: `real_name` when it holds a visible character (emitted as is), else `username`
 *    when it does, else null: white space and invisible characters alone (U+200B and the other
 *    default-ignorable or format characters, visible-text.ts) count as empty. A user never seen
 *    or whose latest fact is a deletion: name null and emails [] (erasure: nothing personal in
 *    the output).
 * 5. `urls`: [] when the template is empty. `{id}` and `{slug}` are replaced everywhere
 *    (slug with encodeURIComponent). When the template needs `{slug}` and there is no slug (course
 *    never seen, deleted, or its slug is ""), `urls` is [] rather than a broken link.
 * 6. The state derived for a deleted course has no name, type or privacy (the tombstone carries
 *    none): `title`, `course_type` and `course_privacy` are null and no lesson counts, as rules.md
 *    says. It is not what a `deleted` event publishes: that is the last published state
 *    (deletion.ts); the derived one only stands for an enrollment deleted before it was published.
 * 7. Progress facts count whatever the membership period: completions made before a re-join or
 *    before the membership existed count. `started_at`, `last_activity_at` and
 *    `time_spent_seconds` use completions of any lesson ("any lesson"), counting or not.
 * 8. Output timestamps are RFC 3339 UTC with milliseconds, microseconds truncated. `due_at` and
 *    `access_expires_at` may carry any offset; `≤ now` compares instants at microsecond precision.
 * 9. `nextDeadline`: only when the status comes from rules 6–9 (no grade, not complete, joined-like
 *    status) and the enrollment exists and is not deleted: the earliest of `access_expires_at` and
 *    `due_at` that is still after `now` (none once access has expired: `expired` is final as far
 *    as time goes), rounded up to the millisecond so a timer armed then is never early.
 * 10. `updated_at` is not derivable from facts: `deriveEnrollment` returns the object without it
 *    (`CourseEnrollmentWithoutUpdatedAt`); `stampUpdatedAt` (material-diff.ts) adds it.
 * 11. Erasure of a name in other users' enrollments (rules.md, last point of "Deletion and
 *    erasure"): a user id with ANY `lms.user.deleted` fact, older or newer than its upserts, is in
 *    `erasedUserIds`, and `assigned_by.name` is null whenever the actor is one of them, including
 *    the user's own enrollment. It is a property of the set of facts (never of their order), and a
 *    later upsert does not undo it; the user's own `user` field still follows their latest fact.
 */
import { completedLessons, completionRate, deriveCourseStructure, progressPercent } from './course-structure';
import type { CourseFacts, CourseStructure } from './course-structure';
import type { CourseEnrollment, EnrollmentStatus } from './course-enrollment';
import { sortFacts } from './fact-order';
import type { Assignment, GradeFact, JoinStatus, MembershipFact, ProgressFact, UserFact } from './facts';
import { canonicalTime, ceilToMillisIso, toMillisIso, toMillisIsoOrNull } from './time';
import { hasVisibleText } from './visible-text';

/** Everything needed to derive one enrollment. */
export interface EnrollmentFacts extends CourseFacts {
  courseId: number;
  userId: number;
  /** The user's latest fact, or undefined when none was seen. */
  user: UserFact | undefined;
  /**
   * Ids of users with at least one `lms.user.deleted` fact (decision 11). It must hold at least
   * those among the actors of `memberships`; more ids change nothing.
   */
  erasedUserIds: ReadonlySet<number>;
  /** All `lms.membership.changed` facts of the enrollment. */
  memberships: readonly MembershipFact[];
  /** All completion/uncompletion facts of the enrollment. */
  progress: readonly ProgressFact[];
  /** All grade facts of the enrollment. */
  grades: readonly GradeFact[];
}

export interface DeriveContext {
  /** Wall clock, RFC 3339 (e.g. `new Date().toISOString()`). */
  now: string;
  /** COURSE_URL_TEMPLATE: '' or a URL with `{id}` and/or `{slug}`. */
  courseUrlTemplate: string;
}

/** The CourseEnrollments object minus `updated_at`, the one field facts cannot determine. */
export type CourseEnrollmentWithoutUpdatedAt = Omit<CourseEnrollment, 'updated_at'>;

/** What the community course views need per enrollment (also found in `remote_data`). */
export interface EnrollmentCounters {
  join_status: JoinStatus | null;
  num_lessons: number;
  num_sections: number;
  num_lessons_completed: number;
  user_completion_rate: number;
}

interface DerivedEnrollmentBase {
  /** `"{course_id}:{user_id}"` */
  id: string;
  courseId: number;
  userId: number;
  /** The course's or the user's latest fact is a deletion: published once as deleted, not listed. */
  deleted: boolean;
  courseDeleted: boolean;
  userDeleted: boolean;
  /** Actors of the enrollment's membership facts who are erased (decision 11), ascending. */
  erasedActorIds: number[];
  counters: EnrollmentCounters;
  /**
   * The next instant (RFC 3339, ms, rounded up) after `now` at which the status may change because
   * of `due_at` / `access_expires_at` alone; null when no such change can come (see decision 9).
   */
  nextDeadline: string | null;
}

export type DerivedEnrollment = DerivedEnrollmentBase &
  ({ /** At least one membership fact. */ exists: true; enrollment: CourseEnrollmentWithoutUpdatedAt } | { exists: false; enrollment: null });

export const enrollmentId = (courseId: number, userId: number): string => `${courseId}:${userId}`;

// ---------------------------------------------------------------------------------------------
// Membership

export interface MembershipState {
  joinStatus: JoinStatus | null;
  /** Time (canonical) of the first membership fact; null when there is none. */
  createdAt: string | null;
  assignedAt: string | null;
  assignedBy: { id: string; name: string | null } | null;
  enrolledAt: string | null;
  assignment: Assignment;
  customFields: Record<string, unknown>;
}

const DEFAULT_ASSIGNMENT: Assignment = { due_at: null, access_expires_at: null, is_mandatory: false };
const ENROLLED: ReadonlySet<JoinStatus | null> = new Set<JoinStatus | null>(['joined', 'manager', 'creator']);

export function deriveMembership(facts: readonly MembershipFact[]): MembershipState {
  const sorted = sortFacts(facts);
  const last = sorted[sorted.length - 1];

  // The period: ends at the latest non-null fact, starts right after the null fact before it.
  const end = sorted.findLastIndex((f) => f.joinStatus !== null);
  const start = end < 0 ? 0 : sorted.slice(0, end).findLastIndex((f) => f.joinStatus === null) + 1;
  const period = end < 0 ? [] : sorted.slice(start, end + 1);

  const invited = period.find((f) => f.joinStatus === 'invited');
  const enrolled = period.find((f) => ENROLLED.has(f.joinStatus));
  const withAssignment = sorted.findLast((f) => f.assignment !== undefined);
  const withCustomFields = sorted.findLast((f) => f.customFields !== undefined);

  return {
    joinStatus: last?.joinStatus ?? null,
    createdAt: sorted[0]?.meta.time ?? null,
    assignedAt: invited?.meta.time ?? null,
    assignedBy: invited?.actor ? { id: String(invited.actor.id), name: invited.actor.name ?? null } : null,
    enrolledAt: enrolled?.meta.time ?? null,
    assignment: withAssignment?.assignment
      ? {
          due_at: withAssignment.assignment.due_at ?? null,
          access_expires_at: withAssignment.assignment.access_expires_at ?? null,
          is_mandatory: withAssignment.assignment.is_mandatory === true,
        }
      : { ...DEFAULT_ASSIGNMENT },
    customFields: withCustomFields?.customFields ? structuredClone(withCustomFields.customFields) : {},
  };
}

// ---------------------------------------------------------------------------------------------
// Progress and grades

export interface ProgressState {
  /** Completed lessons (any lesson of the course, counting or not) → completion time. */
  completed: Map<number, string>;
  startedAt: string | null;
  lastActivityAt: string | null;
  timeSpentSeconds: number | null;
}

export function deriveProgress(facts: readonly ProgressFact[]): ProgressState {
  const completions = sortFacts(facts).filter((f) => f.completed);
  const spent = completions.filter((f) => f.timeSpentSeconds !== null && f.timeSpentSeconds !== undefined);
  return {
    completed: completedLessons(facts),
    startedAt: completions[0]?.meta.time ?? null,
    lastActivityAt: completions[completions.length - 1]?.meta.time ?? null,
    timeSpentSeconds: spent.length === 0 ? null : spent.reduce((sum, f) => sum + (f.timeSpentSeconds ?? 0), 0),
  };
}

export interface GradeState {
  score: number;
  attemptNumber: number;
  attemptsCount: number;
  passed: boolean;
}

/** The latest attempt (highest attempt_number, ties by fact order), or null without grades. */
export function deriveGrade(facts: readonly GradeFact[]): GradeState | null {
  let best: GradeFact | undefined;
  for (const f of sortFacts(facts)) if (best === undefined || f.attemptNumber >= best.attemptNumber) best = f;
  if (best === undefined) return null;
  return {
    score: best.score,
    attemptNumber: best.attemptNumber,
    attemptsCount: new Set(facts.map((f) => f.attemptNumber)).size,
    passed: best.passed,
  };
}

// ---------------------------------------------------------------------------------------------
// Status

export interface StatusInputs {
  joinStatus: JoinStatus | null;
  grade: GradeState | null;
  complete: boolean;
  /** RFC 3339 (any offset) or null. */
  accessExpiresAt: string | null;
  dueAt: string | null;
  startedAt: string | null;
  /** RFC 3339 (any offset). */
  now: string;
}

/** rules.md "Status": the first rule that holds. */
export function deriveStatus(s: StatusInputs): EnrollmentStatus {
  if (s.joinStatus === null) return 'withdrawn';
  if (s.joinStatus === 'requested') return 'unknown';
  if (s.joinStatus === 'invited') return 'assigned';
  if (s.grade) return s.grade.passed ? 'passed' : 'failed';
  if (s.complete) return 'completed';
  const now = canonicalTime(s.now);
  if (s.accessExpiresAt !== null && canonicalTime(s.accessExpiresAt) <= now) return 'expired';
  if (s.dueAt !== null && canonicalTime(s.dueAt) <= now) return 'overdue';
  if (s.startedAt !== null) return 'in_progress';
  return 'enrolled';
}

const TIME_DRIVEN: ReadonlySet<EnrollmentStatus> = new Set<EnrollmentStatus>(['expired', 'overdue', 'in_progress', 'enrolled']);

/** Decision 9: the next instant after `now` at which only the clock may change the status. */
export function nextStatusDeadline(status: EnrollmentStatus, a: Assignment, now: string): string | null {
  if (!TIME_DRIVEN.has(status)) return null;
  const n = canonicalTime(now);
  const expires = a.access_expires_at === null ? null : canonicalTime(a.access_expires_at);
  if (expires !== null && expires <= n) return null;
  const due = a.due_at === null ? null : canonicalTime(a.due_at);
  const future = [expires, due].filter((t): t is string => t !== null && t > n).sort();
  return future.length === 0 ? null : ceilToMillisIso(future[0]);
}

// ---------------------------------------------------------------------------------------------
// URLs and user

/** Decision 5. */
export function courseUrls(template: string, courseId: number, slug: string | null): CourseEnrollment['urls'] {
  if (template === '') return [];
  const needsSlug = template.includes('{slug}');
  if (needsSlug && !slug) return [];
  const url = template
    .split('{id}')
    .join(String(courseId))
    .split('{slug}')
    .join(needsSlug ? encodeURIComponent(slug as string) : '');
  return [{ url, type: 'course' }];
}

/** Decision 4. */
export function enrollmentUser(userId: number, fact: UserFact | undefined): CourseEnrollment['user'] {
  if (!fact || fact.deleted || fact.userId !== userId) return { id: String(userId), name: null, emails: [] };
  const u = fact.user;
  const name = hasVisibleText(u.real_name) ? u.real_name : hasVisibleText(u.username) ? u.username : null;
  return {
    id: String(userId),
    name,
    emails: (u.emails ?? []).map((e) => ({ email: e.email, type: e.type, is_primary: e.is_primary })),
  };
}

// ---------------------------------------------------------------------------------------------
// The enrollment

/** Counting-lesson completion of one user against a course structure. */
export function courseCompletion(structure: CourseStructure, completed: ReadonlyMap<number, string>) {
  let numCompleted = 0;
  let lastCompletion: string | null = null;
  for (const lessonId of structure.countingLessons.keys()) {
    const at = completed.get(lessonId);
    if (at === undefined) continue;
    numCompleted++;
    if (lastCompletion === null || at > lastCompletion) lastCompletion = at;
  }
  const complete = structure.numLessons > 0 && numCompleted === structure.numLessons;
  return {
    numCompleted,
    complete,
    /** Latest completion time among counting lessons when complete, else null. */
    completedAt: complete ? lastCompletion : null,
  };
}

export function deriveEnrollment(facts: EnrollmentFacts, ctx: DeriveContext): DerivedEnrollment {
  const { courseId, userId } = facts;
  const memberships = facts.memberships.filter((f) => f.courseId === courseId && f.userId === userId);
  const progressFacts = facts.progress.filter((f) => f.courseId === courseId && f.userId === userId);
  const gradeFacts = facts.grades.filter((f) => f.courseId === courseId && f.userId === userId);
  const userFact = facts.user && facts.user.userId === userId ? facts.user : undefined;

  const structure = deriveCourseStructure(facts);
  const membership = deriveMembership(memberships);
  const progress = deriveProgress(progressFacts);
  const grade = deriveGrade(gradeFacts);
  const completion = courseCompletion(structure, progress.completed);

  const userDeleted = userFact?.deleted === true;
  const erasedActorIds = [...new Set(memberships.flatMap((f) => (f.actor && facts.erasedUserIds.has(f.actor.id) ? [f.actor.id] : [])))].sort((a, b) => a - b);
  const deleted = structure.courseDeleted || userDeleted;
  const exists = memberships.length > 0;

  const counters: EnrollmentCounters = {
    join_status: membership.joinStatus,
    num_lessons: structure.numLessons,
    num_sections: structure.numSections,
    num_lessons_completed: completion.numCompleted,
    user_completion_rate: completionRate(completion.numCompleted, structure.numLessons),
  };
  const base = {
    id: enrollmentId(courseId, userId),
    courseId,
    userId,
    deleted,
    courseDeleted: structure.courseDeleted,
    userDeleted,
    erasedActorIds,
    counters,
  };
  if (!exists || membership.createdAt === null) return { ...base, exists: false, enrollment: null, nextDeadline: null };

  const status = deriveStatus({
    joinStatus: membership.joinStatus,
    grade,
    complete: completion.complete,
    accessExpiresAt: membership.assignment.access_expires_at,
    dueAt: membership.assignment.due_at,
    startedAt: progress.startedAt,
    now: ctx.now,
  });
  const course = structure.course;

  const enrollment: CourseEnrollmentWithoutUpdatedAt = {
    id: base.id,
    user: enrollmentUser(userId, userFact),
    course: { id: String(courseId), title: course ? course.name : null },
    status,
    assigned_at: toMillisIsoOrNull(membership.assignedAt),
    due_at: toMillisIsoOrNull(membership.assignment.due_at),
    enrolled_at: toMillisIsoOrNull(membership.enrolledAt),
    started_at: toMillisIsoOrNull(progress.startedAt),
    last_activity_at: toMillisIsoOrNull(progress.lastActivityAt),
    completed_at: toMillisIsoOrNull(completion.completedAt),
    progress_percent: progressPercent(completion.numCompleted, structure.numLessons),
    time_spent_seconds: progress.timeSpentSeconds,
    score: grade ? grade.score : null,
    attempt_number: grade ? grade.attemptNumber : null,
    attempts_count: grade ? grade.attemptsCount : null,
    is_mandatory: membership.assignment.is_mandatory,
    assigned_by:
      membership.assignedBy && erasedActorIds.includes(Number(membership.assignedBy.id)) ? { id: membership.assignedBy.id, name: null } : membership.assignedBy,
    urls: courseUrls(ctx.courseUrlTemplate, courseId, course ? course.slug : null),
    created_at: toMillisIso(membership.createdAt),
    custom_fields: membership.customFields,
    remote_data: {
      course_id: courseId,
      user_id: userId,
      join_status: membership.joinStatus,
      course_type: course ? course.type : null,
      course_privacy: course ? (course.privacy ?? '') : null,
      num_lessons: counters.num_lessons,
      num_sections: counters.num_sections,
      num_lessons_completed: counters.num_lessons_completed,
      user_completion_rate: counters.user_completion_rate,
    },
  };
  return {
    ...base,
    exists: true,
    enrollment,
    nextDeadline: deleted ? null : nextStatusDeadline(status, membership.assignment, ctx.now),
  };
}
