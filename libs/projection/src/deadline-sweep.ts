import type { DataSource } from 'typeorm';
import { EnrollmentRepository } from '@app/persistence';
import { EnrollmentProjector } from './enrollment-projector';

export const DEADLINE_SWEEP_CAUSE = { job: 'deadline-sweep' } as const;

/**
 * Re-derives enrollments whose next deadline (`due_at` or `access_expires_at`) has passed, so
 * their status moves to overdue or expired and is republished with `cause: {job: "deadline-sweep"}`.
 * Re-deriving moves each row's next deadline forward (or clears it), so every pass shrinks the set.
 */
export class DeadlineSweep {
  constructor(
    private readonly ds: DataSource,
    private readonly enrollments: EnrollmentRepository,
    private readonly projector: EnrollmentProjector,
    private readonly chunkSize = 500,
  ) {}

  async run(now = new Date()): Promise<{ swept: number; published: number }> {
    let swept = 0;
    let published = 0;
    let previous = '';
    for (;;) {
      const at = now.toISOString();
      const keys = await this.enrollments.dueForDeadline(this.ds, at, this.chunkSize);
      const signature = keys.map((k) => `${k.courseId}:${k.userId}`).join(',');
      // A chunk that comes back unchanged made no progress: stop rather than spin.
      if (keys.length === 0 || signature === previous) break;
      previous = signature;
      const r = await this.ds.transaction((tx) =>
        this.projector.project(tx, keys.map((k) => ({ ...k, cause: DEADLINE_SWEEP_CAUSE })), at),
      );
      swept += keys.length;
      published += r.published;
    }
    return { swept, published };
  }
}
