import { ChunkedWalker, EnrollmentSet, WalkProgress } from './chunked-walk';
import type { EnrollmentKey } from './fact.repository';
import type { Database, Sql } from './sql';

const key = (courseId: number, userId: number): EnrollmentKey => ({ courseId, userId });
const byKey = (a: EnrollmentKey, b: EnrollmentKey): number => a.courseId - b.courseId || a.userId - b.userId;

/** A set held in memory, paged by key as the repositories' sets page in SQL. */
function memorySet(keys: EnrollmentKey[]): EnrollmentSet & { keys: EnrollmentKey[] } {
  const set = {
    keys: [...keys],
    count: () => Promise.resolve(set.keys.length),
    page: (_: Sql, after: EnrollmentKey | null, limit: number) =>
      Promise.resolve(
        [...set.keys]
          .sort(byKey)
          .filter((k) => after === null || byKey(k, after) > 0)
          .slice(0, limit),
      ),
  };
  return set;
}

/** Records which transaction each piece of work ran in. */
function memoryDatabase(): Database & { transactions: number } {
  const db = {
    transactions: 0,
    query: () => Promise.reject(new Error('the walker reads through its set, not by query')),
    transaction: <T>(work: (tx: Sql) => Promise<T>): Promise<T> => {
      db.transactions++;
      return work({ query: () => Promise.resolve([]) } as Sql);
    },
  };
  return db as Database & { transactions: number };
}

describe('ChunkedWalker', () => {
  it('hands every key to the work once, in key order, a chunk per transaction, reporting progress', async () => {
    const set = memorySet([key(2, 1), key(1, 3), key(1, 1), key(3, 9), key(2, 4)]);
    const db = memoryDatabase();
    const chunks: EnrollmentKey[][] = [];
    const reports: [WalkProgress, number][] = [];
    const walked = await new ChunkedWalker(db, 2).walk(
      set,
      (_, keys) => {
        chunks.push(keys);
        return Promise.resolve(keys.length * 10);
      },
      (p, r) => {
        reports.push([p, r]);
      },
    );
    expect(chunks).toEqual([[key(1, 1), key(1, 3)], [key(2, 1), key(2, 4)], [key(3, 9)]]);
    expect(db.transactions).toBe(3);
    expect(reports).toEqual([
      [{ done: 2, total: 5 }, 20],
      [{ done: 4, total: 5 }, 20],
      [{ done: 5, total: 5 }, 10],
    ]);
    expect(walked).toEqual({ done: 5, total: 5 });
  });

  it('moves on by key, so work that leaves its keys in the set (or adds ones behind) cannot loop', async () => {
    const set = memorySet([key(1, 1), key(1, 2), key(1, 3)]);
    const seen: EnrollmentKey[] = [];
    const walked = await new ChunkedWalker(memoryDatabase(), 2).walk(set, (_, keys) => {
      seen.push(...keys);
      set.keys.push(key(0, keys[0].userId)); // sorts before everything walked
      return Promise.resolve();
    });
    expect(seen).toEqual([key(1, 1), key(1, 2), key(1, 3)]);
    expect(walked.done).toBe(3);
  });

  it('does no work on an empty set', async () => {
    const db = memoryDatabase();
    const work = jest.fn();
    expect(await new ChunkedWalker(db).walk(memorySet([]), work)).toEqual({ done: 0, total: 0 });
    expect(work).not.toHaveBeenCalled();
    expect(db.transactions).toBe(0);
  });
});
