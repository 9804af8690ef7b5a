/**
 * rules.md "Order never matters": the projection is a function of the SET of distinct facts.
 * Random fact logs over a small id space (ties in time are frequent, sources include non-ASCII
 * ones whose UTF-8 and UTF-16 orders differ), delivered in random orders with random (cloned)
 * duplicates, must fold to exactly what the sorted log folds to.
 */
import fc from 'fast-check';
import type { CourseUpsertFact } from './course-structure';
import { deriveEnrollment } from './enrollment';
import { latest, sortFacts } from './fact-order';
import type { Fact, FactMeta } from './facts';
import { foldFacts } from './fold';
import { defaultCourse, ms, t } from './testing/facts';
import { shuffled } from './testing/given';

const COURSES = [1, 2];
const USERS = [1, 2, 3];
const LESSONS = [1, 2, 3, 4];
const SECTIONS = [1, 2];
const MINUTES = [0, 1, 2, 3, 4, 5];
const SOURCES = ['/a', '/b', '/\uFF61', '/\u{1F600}'];
const ctx = { now: ms(3), courseUrlTemplate: 'https://lms.example/c/{id}/{slug}' };

const courseId = fc.constantFrom(...COURSES);
const userId = fc.constantFrom(...USERS);
const lessonId = fc.constantFrom(...LESSONS);
const sectionId = fc.constantFrom(...SECTIONS);
const instant = fc.constantFrom(...MINUTES).map((m) => t(m));
const maybeInstant = fc.option(instant, { nil: null });

type FactBody = Fact extends infer F ? (F extends Fact ? Omit<F, 'meta'> : never) : never;

const body: fc.Arbitrary<FactBody> = fc.oneof(
  fc
    .record({ c: courseId, name: fc.constantFrom('A', 'B'), slug: fc.constantFrom('', 'x y') })
    .map(({ c, name, slug }): FactBody => ({ kind: 'course', courseId: c, deleted: false, course: { ...defaultCourse(c), name, slug } })),
  courseId.map((c): FactBody => ({ kind: 'course', courseId: c, deleted: true })),
  fc
    .record({ c: courseId, s: sectionId, position: fc.integer({ min: 0, max: 2 }) })
    .map(({ c, s, position }): FactBody => ({ kind: 'section', courseId: c, sectionId: s, deleted: false, section: { id: s, name: `S${s}`, position } })),
  fc.record({ c: courseId, s: sectionId }).map(({ c, s }): FactBody => ({ kind: 'section', courseId: c, sectionId: s, deleted: true })),
  fc
    .record({ c: courseId, l: lessonId, s: sectionId, status: fc.constantFrom('published' as const, 'published' as const, 'draft' as const) })
    .map(({ c, l, s, status }): FactBody => ({
      kind: 'lesson',
      courseId: c,
      lessonId: l,
      deleted: false,
      lesson: { id: l, section_id: s, name: `L${l}`, type: 'lesson', status, position: l },
    })),
  fc.record({ c: courseId, l: lessonId }).map(({ c, l }): FactBody => ({ kind: 'lesson', courseId: c, lessonId: l, deleted: true })),
  fc.record({ u: userId, real_name: fc.constantFrom('', 'Real') }).map(({ u, real_name }): FactBody => ({
    kind: 'user',
    userId: u,
    deleted: false,
    user: { id: u, username: `u${u}`, real_name, avatar: null, emails: [{ email: `u${u}@x.test`, type: 'work', is_primary: true }] },
  })),
  userId.map((u): FactBody => ({ kind: 'user', userId: u, deleted: true })),
  ...[1, 2, 3].map(() =>
    fc
      .record({
        c: courseId,
        u: userId,
        js: fc.constantFrom('creator' as const, 'manager' as const, 'joined' as const, 'invited' as const, 'requested' as const, null),
        actor: fc.option(fc.record({ id: fc.integer({ min: 1, max: 3 }), name: fc.option(fc.constantFrom('Ada', 'Bob'), { nil: null }) }), { nil: null }),
        assignment: fc.option(fc.record({ due_at: maybeInstant, access_expires_at: maybeInstant, is_mandatory: fc.boolean() }), { nil: undefined }),
        customFields: fc.option(fc.dictionary(fc.constantFrom('a', 'b'), fc.integer({ min: 0, max: 2 })), { nil: undefined }),
      })
      .map(({ c, u, js, actor, assignment, customFields }): FactBody => {
        const f: FactBody = { kind: 'membership', courseId: c, userId: u, joinStatus: js, actor };
        if (assignment !== undefined) f.assignment = assignment;
        if (customFields !== undefined) f.customFields = customFields;
        return f;
      }),
  ),
  ...[1, 2, 3].map(() =>
    fc
      .record({ c: courseId, u: userId, l: lessonId, done: fc.boolean(), spent: fc.option(fc.integer({ min: 0, max: 600 }), { nil: null }) })
      .map(({ c, u, l, done, spent }): FactBody => ({
        kind: 'progress',
        courseId: c,
        userId: u,
        lessonId: l,
        completed: done,
        timeSpentSeconds: done ? spent : null,
      })),
  ),
  fc
    .record({ c: courseId, u: userId, n: fc.integer({ min: 1, max: 3 }), score: fc.integer({ min: 0, max: 100 }), passed: fc.boolean() })
    .map(({ c, u, n, score, passed }): FactBody => ({ kind: 'grade', courseId: c, userId: u, attemptNumber: n, score, passed })),
);

const typeOf = (b: FactBody): string => `${b.kind}${'deleted' in b && b.deleted ? '.deleted' : ''}`;

/** A log of distinct events: (source, id) unique, ids with prefixes so byte order matters. */
const factLog: fc.Arbitrary<Fact[]> = fc
  .array(fc.record({ time: instant, source: fc.constantFrom(...SOURCES), prefix: fc.constantFrom('', 'e', 'E', 'é'), body }), {
    minLength: 1,
    maxLength: 60,
    size: 'medium',
  })
  .map((items) =>
    items.map(({ time, source, prefix, body: b }, i) => {
      const meta: FactMeta = { time, source, id: `${prefix}${i}`, type: typeOf(b) };
      return { ...b, meta };
    }),
  );

/** An arrival: the log shuffled, with some facts delivered again as clones. */
const arrival = fc.record({ seed: fc.integer(), dups: fc.array(fc.nat(), { maxLength: 20 }) });
const deliver = (log: Fact[], { seed, dups }: { seed: number; dups: number[] }): Fact[] =>
  shuffled([...log, ...dups.map((i) => structuredClone(log[i % log.length]))], seed);

describe('order independence (property)', () => {
  it('foldFacts gives the same projection for any arrival order and duplication', () => {
    let enrollments = 0;
    fc.assert(
      fc.property(factLog, fc.array(arrival, { minLength: 1, maxLength: 3 }), (log, arrivals) => {
        const expected = foldFacts(sortFacts(log), ctx);
        enrollments += expected.size;
        for (const a of arrivals) expect(foldFacts(deliver(log, a), ctx)).toEqual(expected);
      }),
      { numRuns: 200 },
    );
    expect(enrollments).toBeGreaterThan(200); // the generator does produce enrollments
  });

  it('deriveEnrollment needs no pre-reduced registers: all facts of every register, shuffled, give the same result', () => {
    fc.assert(
      fc.property(factLog, arrival, (log, a) => {
        const expected = foldFacts(log, ctx);
        const facts = deliver(log, a);
        for (const d of expected.values()) {
          const of = <K extends Fact['kind']>(kind: K) => facts.filter((f): f is Extract<Fact, { kind: K }> => f.kind === kind);
          const derived = deriveEnrollment(
            {
              courseId: d.courseId,
              userId: d.userId,
              course: latest(of('course').filter((f) => f.courseId === d.courseId)),
              lastUpsert: latest(of('course').filter((f): f is CourseUpsertFact & { kind: 'course' } => f.courseId === d.courseId && !f.deleted)),
              user: latest(of('user').filter((f) => f.userId === d.userId)),
              // deliberately every user's deletion, not only the actors': more ids change nothing
              erasedUserIds: new Set(
                of('user')
                  .filter((f) => f.deleted)
                  .map((f) => f.userId),
              ),
              // deliberately unfiltered: other courses'/users' facts must be ignored
              sections: of('section'),
              lessons: of('lesson'),
              memberships: of('membership'),
              progress: of('progress'),
              grades: of('grade'),
            },
            ctx,
          );
          expect(derived).toEqual(d);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('erasure (rules.md "Deletion and erasure"): once a user has any deletion fact, their name is null in every assigned_by, for good', () => {
    let erasedActors = 0;
    let keptActors = 0;
    fc.assert(
      fc.property(factLog, arrival, fc.constantFrom(...USERS), (log, a, resurrected) => {
        const erased = new Set(log.filter((f) => f.kind === 'user' && f.deleted).map((f) => f.userId));
        // a newer upsert of some user after everything else must not bring an erased name back
        const later: Fact = {
          kind: 'user',
          meta: { time: t(60), source: '/a', id: 'resurrect', type: 'user' },
          userId: resurrected,
          deleted: false,
          user: { id: resurrected, username: `u${resurrected}`, real_name: 'Back', avatar: null, emails: [] },
        };
        const folded = foldFacts(deliver([...log, later], a), ctx);
        for (const d of folded.values()) {
          const by = d.enrollment?.assigned_by;
          if (!by) continue;
          if (erased.has(Number(by.id))) {
            erasedActors++;
            expect(by.name).toBeNull();
          } else if (by.name !== null) keptActors++;
          expect(d.erasedActorIds.every((id) => erased.has(id))).toBe(true);
        }
        expect(folded).toEqual(foldFacts(sortFacts([...log, later]), ctx));
      }),
      { numRuns: 300 },
    );
    expect(erasedActors).toBeGreaterThan(20); // the generator does erase actors
    expect(keptActors).toBeGreaterThan(20); // and keeps others
  });

  it('the generator reaches every status', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(factLog, (log) => {
        for (const d of foldFacts(log, ctx).values()) if (d.exists) seen.add(d.enrollment.status);
      }),
      { numRuns: 300, seed: 42 },
    );
    expect([...seen].sort()).toEqual(['assigned', 'completed', 'enrolled', 'expired', 'failed', 'in_progress', 'overdue', 'passed', 'unknown', 'withdrawn'].sort());
  });
});
