/**
 * The reference fold: the whole projection computed from scratch from a set of facts. It is the
 * oracle of the property test, the end-to-end tests and the fault drills, so it is written to be
 * obviously correct rather than fast (≈200k facts in well under a second or two):
 *
 * 1. drop duplicates (same source+id: the first occurrence is kept; exact duplicates are all equal);
 * 2. group: course/section/lesson/user facts by register, keeping the latest of each (and, per
 *    course, its latest upsert: what a deleted course still shows); the ids of users with ANY
 *    deletion fact (erasure of their name elsewhere, for good); membership/progress/grade facts
 *    by enrollment, keeping all of them;
 * 3. derive every enrollment that has at least one membership fact (deleted ones included, with
 *    `deleted: true`).
 */
import { dedupeFacts, factOrder } from './fact-order';
import type { CourseFacts, CourseUpsertFact } from './course-structure';
import { deriveEnrollment, enrollmentId } from './enrollment';
import type { DeriveContext, DerivedEnrollment, EnrollmentFacts } from './enrollment';
import type { CourseFact, Fact, GradeFact, LessonFact, MembershipFact, ProgressFact, SectionFact, UserFact } from './facts';

/** Keeps, per key, the latest fact. */
class Registers<T extends { meta: Fact['meta'] }> {
  private readonly byKey = new Map<string, T>();
  put(key: string, f: T): void {
    const cur = this.byKey.get(key);
    if (cur === undefined || factOrder(f.meta, cur.meta) > 0) this.byKey.set(key, f);
  }
  get(key: string): T | undefined {
    return this.byKey.get(key);
  }
}

/** Appends to lists per key. */
class Groups<T> {
  private readonly byKey = new Map<string, T[]>();
  add(key: string, f: T): void {
    const list = this.byKey.get(key);
    if (list) list.push(f);
    else this.byKey.set(key, [f]);
  }
  get(key: string): T[] {
    return this.byKey.get(key) ?? [];
  }
  keys(): IterableIterator<string> {
    return this.byKey.keys();
  }
}

/** Facts grouped for derivation. Build with `indexFacts`. */
export interface FactIndex {
  /** Ids of the enrollments with at least one membership fact, ordered by course then user. */
  enrollments: { courseId: number; userId: number }[];
  /** Ids of the courses with at least one course fact, ascending. */
  courses: number[];
  /** Ids of the users with at least one deletion fact. */
  erasedUserIds: ReadonlySet<number>;
  courseFacts(courseId: number): CourseFacts;
  enrollmentFacts(courseId: number, userId: number): EnrollmentFacts;
}

export function indexFacts(facts: Iterable<Fact>): FactIndex {
  const courses = new Registers<CourseFact>();
  const courseUpserts = new Registers<CourseUpsertFact>();
  const erasedUserIds = new Set<number>();
  const users = new Registers<UserFact>();
  const sections = new Registers<SectionFact>();
  const lessons = new Registers<LessonFact>();
  const sectionKeys = new Groups<string>();
  const lessonKeys = new Groups<string>();
  const memberships = new Groups<MembershipFact>();
  const progress = new Groups<ProgressFact>();
  const grades = new Groups<GradeFact>();
  const courseIds = new Set<number>();

  for (const f of dedupeFacts(facts)) {
    switch (f.kind) {
      case 'course':
        courses.put(String(f.courseId), f);
        if (!f.deleted) courseUpserts.put(String(f.courseId), f);
        courseIds.add(f.courseId);
        break;
      case 'user':
        users.put(String(f.userId), f);
        if (f.deleted) erasedUserIds.add(f.userId);
        break;
      case 'section': {
        const k = `${f.courseId}:${f.sectionId}`;
        if (!sections.get(k)) sectionKeys.add(String(f.courseId), k);
        sections.put(k, f);
        break;
      }
      case 'lesson': {
        const k = `${f.courseId}:${f.lessonId}`;
        if (!lessons.get(k)) lessonKeys.add(String(f.courseId), k);
        lessons.put(k, f);
        break;
      }
      case 'membership':
        memberships.add(enrollmentId(f.courseId, f.userId), f);
        break;
      case 'progress':
        progress.add(enrollmentId(f.courseId, f.userId), f);
        break;
      case 'grade':
        grades.add(enrollmentId(f.courseId, f.userId), f);
        break;
      default: {
        const never: never = f;
        throw new Error(`unknown fact kind: ${JSON.stringify(never)}`);
      }
    }
  }

  const courseFacts = (courseId: number): CourseFacts => ({
    courseId,
    course: courses.get(String(courseId)),
    lastUpsert: courseUpserts.get(String(courseId)),
    sections: sectionKeys.get(String(courseId)).map((k) => sections.get(k) as SectionFact),
    lessons: lessonKeys.get(String(courseId)).map((k) => lessons.get(k) as LessonFact),
  });

  const enrollments = [...memberships.keys()]
    .map((k) => {
      const [c, u] = k.split(':').map(Number);
      return { courseId: c, userId: u };
    })
    .sort((a, b) => a.courseId - b.courseId || a.userId - b.userId);

  return {
    enrollments,
    courses: [...courseIds].sort((a, b) => a - b),
    erasedUserIds,
    courseFacts,
    enrollmentFacts: (courseId, userId) => {
      const id = enrollmentId(courseId, userId);
      return {
        ...courseFacts(courseId),
        userId,
        user: users.get(String(userId)),
        erasedUserIds,
        memberships: memberships.get(id),
        progress: progress.get(id),
        grades: grades.get(id),
      };
    },
  };
}

/**
 * Derives every enrollment that exists (has a membership fact), keyed `"{courseId}:{userId}"`, in
 * course then user order. Deleted enrollments are included with `deleted: true`.
 */
export function foldFacts(facts: Iterable<Fact>, ctx: DeriveContext): Map<string, DerivedEnrollment> {
  const index = indexFacts(facts);
  const out = new Map<string, DerivedEnrollment>();
  for (const { courseId, userId } of index.enrollments) {
    out.set(enrollmentId(courseId, userId), deriveEnrollment(index.enrollmentFacts(courseId, userId), ctx));
  }
  return out;
}
