import { ChunkedWalker, EnrollmentKey, EnrollmentRepository, EnrollmentSet } from '@app/persistence';
import { clock, events } from '@app/workload';
import { projectionFixture } from '../support/projection';

/**
 * The sets of enrollments that recompute, rebuild and the deadline sweep walk, paged by the
 * chunked walker on a real Postgres in chunks smaller than the sets, so every page after the
 * first goes through each set's keyset condition.
 */
describe('enrollment walks on a real Postgres', () => {
  let f: Awaited<ReturnType<typeof projectionFixture>>;
  const enrollments = new EnrollmentRepository();
  const t = clock('2026-11-01T09:00:00.000Z');
  let n = 0;
  const m = () => ({ time: t(1000), id: `evt-${++n}` });
  const due = '2099-01-10T00:00:00.000Z';
  // Courses 3 and 8; users chosen so that key order differs from insertion order.
  const members: [number, number, boolean][] = [
    [8, 5, true],
    [3, 12, false],
    [8, 1, false],
    [3, 4, true],
    [3, 30, true],
    [8, 22, false],
    [3, 7, false],
  ];

  beforeAll(async () => {
    f = await projectionFixture();
    await f.apply(
      ...[3, 8].map((id) => events.courseUpserted({ id, name: `Course ${id}`, slug: `course-${id}` }, m())),
      ...members.map(([courseId, userId, assigned]) =>
        events.membershipChanged({ course_id: courseId, user_id: userId, join_status: 'joined', ...(assigned ? { assignment: { due_at: due } } : {}) }, m()),
      ),
      // Progress before membership: a fact of an enrollment that does not exist, in no set.
      events.lessonCompleted({ course_id: 3, lesson_id: 1, user_id: 99 }, m()),
    );
  });
  afterAll(() => f?.close());

  async function walk(set: EnrollmentSet): Promise<{ chunks: EnrollmentKey[][]; total: number; done: number[]; transactions: Set<string> }> {
    const chunks: EnrollmentKey[][] = [];
    const done: number[] = [];
    const transactions = new Set<string>();
    const r = await new ChunkedWalker(f.ds, 2).walk(
      set,
      async (tx, keys) => {
        // Each chunk runs in a transaction of its own.
        const [{ id }]: { id: string }[] = await tx.query(`SELECT txid_current()::text AS id`);
        chunks.push(keys);
        return id;
      },
      (p, transaction) => {
        done.push(p.done);
        transactions.add(transaction);
      },
    );
    return { chunks, total: r.total, done, transactions };
  }

  const sorted = (keys: [number, number][]) => keys.map(([courseId, userId]) => ({ courseId, userId })).sort((a, b) => a.courseId - b.courseId || a.userId - b.userId);

  it('walks one course by user, every enrollment once', async () => {
    const r = await walk(enrollments.ofCourse(3));
    expect(r.chunks).toEqual([
      [
        { courseId: 3, userId: 4 },
        { courseId: 3, userId: 7 },
      ],
      [
        { courseId: 3, userId: 12 },
        { courseId: 3, userId: 30 },
      ],
    ]);
    expect(r.total).toBe(4);
    expect(r.done).toEqual([2, 4]);
    expect(r.transactions.size).toBe(2);
  });

  it('walks every enrollment with a membership fact in (course, user) order, across courses', async () => {
    const r = await walk(enrollments.withMembershipFacts());
    expect(r.chunks.flat()).toEqual(sorted(members.map(([c, u]) => [c, u])));
    expect(r.chunks.map((c) => c.length)).toEqual([2, 2, 2, 1]);
    expect(r.total).toBe(members.length);
    expect(r.transactions.size).toBe(4);
  });

  it('walks the enrollments whose deadline has passed, and none before it passes', async () => {
    expect((await walk(enrollments.dueForDeadline('2099-01-09T23:59:59.999Z'))).chunks).toEqual([]);
    const r = await walk(enrollments.dueForDeadline('2099-01-10T00:00:00.000Z'));
    expect(r.chunks.flat()).toEqual(sorted(members.filter(([, , assigned]) => assigned).map(([c, u]) => [c, u])));
    expect(r.total).toBe(3);
  });

  it('sweeps each due enrollment once, and a second sweep at the same instant finds none', async () => {
    const at = new Date('2099-01-10T00:00:01.000Z');
    expect(await f.sweep.run(at)).toEqual({ swept: 3, published: 3 });
    expect(await f.sweep.run(at)).toEqual({ swept: 0, published: 0 });
  });
});
