import type { DataSource } from 'typeorm';
import { EnrollmentKey } from '@app/persistence';
import { EnrollmentProjector } from './enrollment-projector';

export const REBUILD_CAUSE = { job: 'rebuild' } as const;

export interface RebuildProgress {
  done: number;
  total: number;
  published: number;
}

/**
 * Re-derives every enrollment from the stored facts (after a rules change, or to verify), one
 * chunk per transaction, walking the membership facts (the source of truth for which
 * enrollments exist). The projector publishes only what materially changed.
 */
export class Rebuild {
  constructor(
    private readonly ds: DataSource,
    private readonly projector: EnrollmentProjector,
    private readonly chunkSize = 500,
  ) {}

  async run(onProgress?: (p: RebuildProgress) => Promise<void> | void): Promise<RebuildProgress> {
    const [{ n }] = await this.ds.query(
      `SELECT count(*)::int AS n FROM (SELECT DISTINCT course_id, user_id FROM membership_facts) s`,
    );
    const progress: RebuildProgress = { done: 0, total: n, published: 0 };
    let after: EnrollmentKey = { courseId: 0, userId: 0 };
    for (;;) {
      const rows: { course_id: number; user_id: number }[] = await this.ds.query(
        `SELECT DISTINCT course_id, user_id FROM membership_facts
         WHERE (course_id, user_id) > ($1, $2) ORDER BY course_id, user_id LIMIT $3`,
        [after.courseId, after.userId, this.chunkSize],
      );
      if (rows.length === 0) break;
      const keys = rows.map((r) => ({ courseId: r.course_id, userId: r.user_id }));
      const r = await this.ds.transaction((tx) =>
        this.projector.project(tx, keys.map((k) => ({ ...k, cause: REBUILD_CAUSE }))),
      );
      after = keys[keys.length - 1];
      progress.done += keys.length;
      progress.published += r.published;
      await onProgress?.({ ...progress });
    }
    return progress;
  }
}
