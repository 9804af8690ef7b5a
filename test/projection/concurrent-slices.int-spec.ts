/**
 * The sync worker applies several partitions at once, each slice in its own transaction, and
 * facts about one enrollment arrive on different topics (membership, progress, the user's
 * profile, the course's structure). Given slices from every topic about the same users and
 * courses, when they are applied side by side round after round (retrying lock conflicts as the
 * consumer does), then the projection equals the fold of everything applied, the outbox's last
 * event per key equals its row, and versions stay gapless. The interleavings are up to Postgres,
 * so that is a convergence check; the first test replays the one race the fault drill caught
 * (docs/drills.md), holding a lock from the test to force the interleaving.
 */
import { foldFacts } from '@app/domain';
import { isLockConflict } from '@app/messaging';
import { clock, events, InputMessage, projectionProblems, ProjectionRow, PublishedLog, publishedProblems, rng, versionProblems } from '@app/workload';
import { projectionFixture } from '../support/projection';

const COURSES = [1, 2, 3];
const LESSONS = [1, 2, 3, 4];
const ROUNDS = 20;
const USERS_PER_ROUND = 16;

describe('concurrent slices', () => {
  let f: Awaited<ReturnType<typeof projectionFixture>>;
  const t = clock('2026-11-01T09:00:00.000Z');
  let n = 0;
  const m = () => ({ time: t(1000), id: `evt-${++n}` });
  const lesson = (c: number, l: number, status: 'published' | 'draft') =>
    events.lessonUpserted(c, { id: c * 10 + l, section_id: c * 10, name: `L${l}`, status, position: l }, m());
  const applied: InputMessage[] = [];

  /** Like the consumer: a slice that lost a lock conflict rolled back whole and runs again. */
  const applySlice = async (slice: InputMessage[]) => {
    for (;;) {
      try {
        await f.apply(...slice);
        return;
      } catch (err) {
        if (!isLockConflict(err)) throw err;
      }
    }
  };

  beforeAll(async () => {
    f = await projectionFixture();
    const structure = COURSES.flatMap((c) => [
      events.courseUpserted({ id: c, name: `Course ${c}`, slug: `c${c}` }, m()),
      events.sectionUpserted(c, { id: c * 10, name: 'S', position: 1 }, m()),
      ...LESSONS.map((l) => lesson(c, l, 'published')),
    ]);
    await f.apply(...structure);
    applied.push(...structure);
  });
  afterAll(async () => f?.close());

  it('derives a new enrollment from a profile changed at the same time (the race the drill caught)', async () => {
    // User 900 is enrolled in course 2; a profile change and a first membership in course 1 race.
    const enrolled = events.membershipChanged({ course_id: 2, user_id: 900, join_status: 'joined' }, m());
    await f.apply(enrolled);
    const profile = events.userUpserted({ id: 900, username: 'ada', real_name: 'Ada L.', emails: [] }, m());
    const joined = events.membershipChanged({ course_id: 1, user_id: 900, join_status: 'joined' }, m());

    // Hold the profile slice after it looked up the user's enrollments (it found 2:900 and waits
    // for that enrollment's lock), so the membership slice runs while the profile is uncommitted.
    const holder = f.ds.createQueryRunner();
    await holder.connect();
    await holder.startTransaction();
    await holder.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, ['2:900']);
    const waiting = async () => Number((await f.ds.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`))[0].n);
    const until = async (cond: () => Promise<boolean>) => {
      for (let i = 0; i < 500 && !(await cond()); i++) await new Promise((r) => setTimeout(r, 10));
    };
    try {
      const profileApplied = f.apply(profile);
      await until(async () => (await waiting()) === 1);
      let membershipDone = false;
      const membershipApplied = f.apply(joined).finally(() => (membershipDone = true));
      // Either the membership slice finishes (nothing orders it after the profile) or it waits
      // for the profile slice's lock on user 900.
      await until(async () => membershipDone || (await waiting()) === 2);
      await holder.commitTransaction();
      await Promise.all([profileApplied, membershipApplied]);
    } finally {
      if (holder.isTransactionActive) await holder.rollbackTransaction();
      await holder.release();
    }
    applied.push(enrolled, profile, joined);

    const [row] = await f.ds.query(`SELECT state FROM enrollments WHERE id = '1:900'`);
    expect(row.state.user).toEqual({ id: '900', name: 'Ada L.', emails: [] });
  });

  it('converges to the fold when membership, progress, profile and structure slices overlap', async () => {
    const rand = rng(7);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
    for (let round = 0; round < ROUNDS; round++) {
      // The same users in every slice of the round, so the slices race on the same enrollments;
      // new users each round, so the memberships create enrollments while profiles change.
      const users = Array.from({ length: USERS_PER_ROUND }, (_, i) => 1 + round * USERS_PER_ROUND + i);
      const profiles = users.map((u) =>
        events.userUpserted(
          { id: u, username: `u${u}`, real_name: `User ${u} r${round}`, emails: [{ email: `u${u}.${round}@example.com`, type: 'work', is_primary: true }] },
          m(),
        ),
      );
      const memberships = users.map((u) =>
        events.membershipChanged({ course_id: pick(COURSES), user_id: u, join_status: pick(['joined', 'joined', 'invited', null] as const) }, m()),
      );
      // Progress of the previous round's users: a re-derivation of this round's enrollments
      // would paper over a missed profile change.
      const progress = users.flatMap((u) =>
        COURSES.map((c) =>
          events.lessonCompleted({ course_id: c, lesson_id: c * 10 + pick(LESSONS), user_id: Math.max(1, u - USERS_PER_ROUND), time_spent_seconds: 60 }, m()),
        ),
      );
      const structure = [lesson(pick(COURSES), pick(LESSONS), rand() < 0.5 ? 'published' : 'draft')];
      // Each kind split in two, so slices of one topic also overlap each other.
      const halves = (xs: InputMessage[]) => [xs.filter((_, i) => i % 2 === 0), xs.filter((_, i) => i % 2 === 1)];
      const slices = [...halves(profiles), ...halves(memberships), ...halves(progress), structure];
      await Promise.all(slices.map(applySlice));
      applied.push(...slices.flat());
    }
    // Course-wide recomputes, as the jobs worker runs them after the structure slices committed.
    for (const r of await f.pendingRecomputes()) await f.recompute.run(r.courseId);

    const facts = f.decode(applied).map((e) => e.fact);
    const expected = foldFacts(facts, { now: new Date().toISOString(), courseUrlTemplate: f.config.courseUrlTemplate });
    const rows = new Map<string, ProjectionRow>((await f.ds.query(`SELECT id, version, deleted, state FROM enrollments`)).map((r: ProjectionRow) => [r.id, r]));
    const outbox = new PublishedLog();
    for (const { enrollment_id, event } of await f.ds.query(`SELECT enrollment_id, event FROM outbox ORDER BY seq`)) outbox.add(enrollment_id, event);

    expect([...expected.values()].filter((d) => d.exists).length).toBeGreaterThan(30);
    expect(projectionProblems(expected, rows)).toEqual([]);
    expect(publishedProblems(rows, outbox.last)).toEqual([]);
    expect(versionProblems(outbox.versions)).toEqual([]);
  });
});

/**
 * A structure change takes no course lock in its slice: the course-wide recompute it requests
 * waits, before its walk, for every slice still deriving a new enrollment of the course from the
 * older structure. Given a membership slice that derived before a rename committed, when the
 * rename's recompute runs while that slice is still uncommitted, then the recompute waits for it
 * and re-derives the enrollment with the new title.
 */
describe('a structure change racing a new membership', () => {
  let f: Awaited<ReturnType<typeof projectionFixture>>;
  const t = clock('2026-11-02T09:00:00.000Z');
  let n = 0;
  const m = () => ({ time: t(1000), id: `race-${++n}` });

  beforeAll(async () => {
    f = await projectionFixture();
    await f.apply(events.courseUpserted({ id: 1, name: 'Old title', slug: 'c1' }, m()));
    for (const r of await f.pendingRecomputes()) await f.recompute.run(r.courseId);
  });
  afterAll(async () => f?.close());

  const waitingOn = async (locktype: string) =>
    Number((await f.ds.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = $1 AND NOT granted`, [locktype]))[0].n);
  const until = async (cond: () => Promise<boolean>) => {
    for (let i = 0; i < 500 && !(await cond()); i++) await new Promise((r) => setTimeout(r, 10));
  };

  it('re-derives an enrollment created from the old structure while the change committed', async () => {
    const rename = events.courseUpserted({ id: 1, name: 'New title', slug: 'c1' }, m());
    const joined = events.membershipChanged({ course_id: 1, user_id: 901, join_status: 'joined' }, m());
    // H1 holds the course's recompute request row: the rename's slice stores its fact, then waits.
    const h1 = f.ds.createQueryRunner();
    // H2 holds an uncommitted row of the new enrollment: the membership slice derives, then waits to write.
    const h2 = f.ds.createQueryRunner();
    await h1.connect();
    await h2.connect();
    try {
      await h1.startTransaction();
      await h1.query(`SELECT 1 FROM recompute_requests WHERE course_id = 1 FOR UPDATE`);
      const renamed = f.apply(rename);
      await until(async () => (await waitingOn('transactionid')) + (await waitingOn('tuple')) >= 1);

      await h2.startTransaction();
      await h2.query(`INSERT INTO enrollments (course_id, user_id, id, status, state, updated_at) VALUES (1, 901, '1:901', 'placeholder', '{}', now())`);
      const joinedApplied = f.apply(joined);
      await until(async () => (await waitingOn('transactionid')) + (await waitingOn('tuple')) + (await waitingOn('advisory')) >= 2);

      await h1.commitTransaction();
      await renamed;
      let recomputeDone = false;
      const recomputed = (async () => {
        for (const r of await f.pendingRecomputes()) await f.recompute.run(r.courseId);
      })().finally(() => (recomputeDone = true));
      // Either the recompute waits for the membership slice, or (no barrier) it is over already.
      await until(async () => recomputeDone || (await waitingOn('advisory')) >= 1);
      await h2.rollbackTransaction();
      await Promise.all([joinedApplied, recomputed]);
    } finally {
      for (const h of [h1, h2]) {
        if (h.isTransactionActive) await h.rollbackTransaction();
        await h.release();
      }
    }

    expect(await f.pendingRecomputes()).toEqual([]);
    const [row] = await f.ds.query(`SELECT state FROM enrollments WHERE id = '1:901'`);
    expect(row.state.course.title).toBe('New title');
  });
});
