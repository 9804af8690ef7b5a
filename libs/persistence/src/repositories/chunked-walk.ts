import type { EnrollmentKey } from './fact.repository';
import type { Database, Sql } from './sql';

/**
 * A set of enrollments walked in keyset order: `page` returns up to `limit` keys after `after`
 * (null = from the start) in (course_id, user_id) order, so a walk never revisits a key however
 * the rows change behind it, and never skips one that stays in the set.
 */
export interface EnrollmentSet {
  count(sql: Sql): Promise<number>;
  page(sql: Sql, after: EnrollmentKey | null, limit: number): Promise<EnrollmentKey[]>;
}

export interface WalkProgress {
  /** Keys handed to the chunk work so far. */
  done: number;
  /** The set's size when the walk began (keys added meanwhile may make `done` pass it). */
  total: number;
}

/**
 * Walks a set of enrollments a chunk at a time, each chunk's work in a transaction of its own,
 * so a walk over 100k enrollments never holds one long transaction (or its locks). What each
 * chunk's work returns is handed to `onProgress` with the running totals, e.g. for job progress.
 */
export class ChunkedWalker {
  constructor(
    private readonly db: Database,
    readonly chunkSize = 500,
  ) {}

  async walk<R>(
    set: EnrollmentSet,
    work: (tx: Sql, keys: EnrollmentKey[]) => Promise<R>,
    onProgress?: (progress: WalkProgress, chunk: R) => Promise<void> | void,
  ): Promise<WalkProgress> {
    const progress: WalkProgress = { done: 0, total: await set.count(this.db) };
    let after: EnrollmentKey | null = null;
    for (;;) {
      const keys = await set.page(this.db, after, this.chunkSize);
      if (keys.length === 0) return progress;
      const r = await this.db.transaction((tx) => work(tx, keys));
      after = keys[keys.length - 1];
      progress.done += keys.length;
      await onProgress?.({ ...progress }, r);
    }
  }
}
