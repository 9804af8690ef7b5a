/**
 * The per-course member counters (count per join status, completion-rate sum) that the read API
 * answers `count` and `avg_completion_rate` from are maintained by the projection's write path,
 * in the transaction that writes the enrollments. Given a shuffled, duplicated log applied in
 * slices side by side (as the consumer's partitions do), with course-wide recomputes and a
 * rebuild through the same path, then the maintained counters equal a full recount of the
 * enrollments and the domain fold of every fact.
 */
import { foldFacts } from '@app/domain';
import { isLockConflict } from '@app/messaging';
import { CourseMemberStats, CourseMemberStatsRepository } from '@app/persistence';
import { clock, events, InputMessage, rng, syntheticWorkload } from '@app/workload';
import { projectionFixture } from '../support/projection';

type Counters = Map<number, { members: Record<string, number>; rateSum: Record<string, number> }>;
const counters = (m: Map<number, CourseMemberStats>): Counters =>
  new Map([...m].filter(([, s]) => Object.keys(s.members).length > 0).map(([c, s]) => [c, { members: s.members, rateSum: s.rateSum }]));

describe('per-course member counters', () => {
  let f: Awaited<ReturnType<typeof projectionFixture>>;
  const stats = new CourseMemberStatsRepository();
  const applied: InputMessage[] = [];

  const applySlice = async (slice: InputMessage[]) => {
    for (;;) {
      try {
        await f.apply(...slice);
        applied.push(...slice);
        return;
      } catch (err) {
        if (!isLockConflict(err)) throw err;
      }
    }
  };

  /** What the fold of every applied fact says the counters are. */
  const folded = (): Counters => {
    const expected = foldFacts(
      f.decode(applied).map((e) => e.fact),
      { now: new Date().toISOString(), courseUrlTemplate: f.config.courseUrlTemplate },
    );
    const out: Counters = new Map();
    for (const d of expected.values()) {
      const status = d.counters.join_status;
      if (!d.exists || d.deleted || status === null) continue;
      let c = out.get(d.courseId);
      if (!c) out.set(d.courseId, (c = { members: {}, rateSum: {} }));
      c.members[status] = (c.members[status] ?? 0) + 1;
      c.rateSum[status] = (c.rateSum[status] ?? 0) + d.counters.user_completion_rate;
    }
    for (const c of out.values()) for (const [s, r] of Object.entries(c.rateSum)) if (r === 0) delete c.rateSum[s];
    return out;
  };

  beforeAll(async () => {
    f = await projectionFixture();
  });
  afterAll(async () => f?.close());

  it("parks a delta instead of waiting when another transaction holds the course's counters", async () => {
    const t = clock('2026-09-01T00:00:00.000Z');
    const m = (i: number) => ({ time: t(1000), id: `park-${i}`, source: '/park' });
    await applySlice([events.courseUpserted({ id: 900, name: 'Busy course' }, m(1))]);
    const holder = f.ds.createQueryRunner();
    await holder.connect();
    await holder.startTransaction();
    try {
      await holder.query(`SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '/course-member-stats/' || 900, 0))`);
      // The slice commits while the counters' lock is held elsewhere: it did not wait for it.
      await applySlice([events.membershipChanged({ course_id: 900, user_id: 1, join_status: 'joined' }, m(2))]);
      const parked = await f.ds.query(`SELECT members FROM course_member_stat_deltas WHERE course_id = 900 AND join_status = 'joined'`);
      expect(parked).toEqual([{ members: 1 }]);
    } finally {
      await holder.rollbackTransaction();
      await holder.release();
    }
    expect((await stats.read(f.ds, 900)).members).toEqual({ joined: 1 });
    // The next writer of the course folds what was parked.
    await applySlice([events.membershipChanged({ course_id: 900, user_id: 2, join_status: 'invited' }, m(3))]);
    expect(await f.ds.query(`SELECT * FROM course_member_stat_deltas WHERE course_id = 900`)).toEqual([]);
    expect((await stats.read(f.ds, 900)).members).toEqual({ joined: 1, invited: 1 });
  });

  it('equal a full recount and the fold after a shuffled, duplicated log applied in parallel slices', async () => {
    const rand = rng(17);
    const t = clock('2026-12-01T00:00:00.000Z');
    let n = 0;
    const m = () => ({ time: t(1000), id: `late-${++n}`, source: '/late' });
    const log = [...syntheticWorkload({ events: 2500, courses: 4, users: 80, seed: 23, source: '/stats' })];
    // Leavers, an erased user and a deleted course, so counters also go down.
    log.push(
      ...Array.from({ length: 15 }, (_, i) => events.membershipChanged({ course_id: 1 + (i % 4), user_id: 1 + i, join_status: null }, m())),
      events.userDeleted(7, m()),
      events.courseDeleted(4, m()),
    );
    const shuffled = [...log, ...log.filter(() => rand() < 0.5)];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
    }
    for (let i = 0; i < shuffled.length; i += 400) {
      const round = shuffled.slice(i, i + 400);
      await Promise.all([0, 1, 2, 3].map((k) => applySlice(round.filter((_, j) => j % 4 === k))));
    }
    for (const r of await f.pendingRecomputes()) await f.recompute.run(r.courseId);

    const maintained = counters(await stats.readAll(f.ds));
    expect(maintained.size).toBeGreaterThanOrEqual(3);
    expect(maintained).toEqual(counters(await stats.recount(f.ds)));
    expect(maintained).toEqual(folded());

    await f.rebuild.run();
    expect(counters(await stats.readAll(f.ds))).toEqual(maintained);
  });
});
