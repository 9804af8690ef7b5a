import { clock, events, InputMessage } from './input-events';

export interface WorkloadOptions {
  events: number;
  courses: number;
  users: number;
  seed: number;
  /** Share of each kind; the rest after progress and membership is structure, grades and users. */
  progressShare: number;
  membershipShare: number;
  source: string;
}

export const DEFAULT_WORKLOAD: WorkloadOptions = {
  events: 200_000,
  courses: 200,
  users: 5_000,
  seed: 42,
  progressShare: 0.7,
  membershipShare: 0.2,
  source: '/bench',
};

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A realistic, reproducible event log: courses with sections and lessons first (mostly), then
 * learners joining and completing lessons, with some unpublished lessons, uncompletions,
 * grades, withdrawals and profile edits mixed in. Every message is valid.
 */
export function* syntheticWorkload(opts: Partial<WorkloadOptions> = {}): Generator<InputMessage> {
  const o = { ...DEFAULT_WORKLOAD, ...opts };
  const rand = rng(o.seed);
  const pick = (n: number) => 1 + Math.floor(rand() * n);
  const tick = clock('2026-10-01T00:00:00.000Z');
  let seq = 0;
  const id = () => `${o.seed}-${++seq}`;
  const meta = () => ({ time: tick(), id: id(), source: o.source });
  const LESSONS = 8;
  const lessonId = (course: number, n: number) => course * 100 + n;
  const sectionId = (course: number, n: number) => course * 10 + n;

  let emitted = 0;
  // Structure up front: every course with two sections and eight published lessons.
  for (let c = 1; c <= o.courses && emitted < o.events; c++) {
    yield events.courseUpserted({ id: c, name: `Course ${c}`, slug: `course-${c}`, type: 'self-paced', privacy: 'open' }, meta());
    emitted++;
    for (let s = 1; s <= 2 && emitted < o.events; s++, emitted++) {
      yield events.sectionUpserted(c, { id: sectionId(c, s), name: `Section ${s}`, position: s }, meta());
    }
    for (let l = 1; l <= LESSONS && emitted < o.events; l++, emitted++) {
      yield events.lessonUpserted(
        c,
        { id: lessonId(c, l), section_id: sectionId(c, l <= LESSONS / 2 ? 1 : 2), name: `Lesson ${l}`, status: 'published', position: l },
        meta(),
      );
    }
  }
  const structureShare = 1 - o.progressShare - o.membershipShare;
  while (emitted < o.events) {
    const r = rand();
    const course = pick(o.courses);
    const user = pick(o.users);
    if (r < o.progressShare) {
      const lesson = lessonId(course, pick(LESSONS));
      yield rand() < 0.95
        ? events.lessonCompleted({ course_id: course, lesson_id: lesson, user_id: user, time_spent_seconds: pick(600) }, meta())
        : events.lessonUncompleted({ course_id: course, lesson_id: lesson, user_id: user }, meta());
    } else if (r < o.progressShare + o.membershipShare) {
      const s = rand();
      const status = s < 0.75 ? 'joined' : s < 0.85 ? 'invited' : s < 0.9 ? 'requested' : s < 0.95 ? 'manager' : null;
      yield events.membershipChanged(
        {
          course_id: course,
          user_id: user,
          join_status: status,
          ...(rand() < 0.3 ? { assignment: { due_at: '2027-06-30T00:00:00Z', is_mandatory: rand() < 0.5 } } : {}),
        },
        meta(),
      );
    } else {
      const s = (r - o.progressShare - o.membershipShare) / structureShare;
      if (s < 0.4) {
        yield events.courseGraded({ course_id: course, user_id: user, attempt_number: pick(3), score: Math.round(rand() * 1000) / 10, passed: rand() < 0.7 }, meta());
      } else if (s < 0.8) {
        yield events.userUpserted(
          { id: user, username: `user${user}`, real_name: `User ${user}`, emails: [{ email: `u${user}@example.com`, type: 'work', is_primary: true }] },
          meta(),
        );
      } else {
        const l = pick(LESSONS);
        yield events.lessonUpserted(
          course,
          {
            id: lessonId(course, l),
            section_id: sectionId(course, l <= LESSONS / 2 ? 1 : 2),
            name: `Lesson ${l}`,
            status: rand() < 0.8 ? 'published' : 'draft',
            position: l,
          },
          meta(),
        );
      }
    }
    emitted++;
  }
}
