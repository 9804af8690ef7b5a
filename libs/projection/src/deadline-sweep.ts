import { ChunkedWalker, EnrollmentRepository } from '@app/persistence';
import { EnrollmentProjector } from './enrollment-projector';

export const DEADLINE_SWEEP_CAUSE = { job: 'deadline-sweep' } as const;

/**
 * Re-derives enrollments whose next deadline (`due_at` or `access_expires_at`) has passed, so
 * their status moves to overdue or expired and is republished with `cause: {job: "deadline-sweep"}`.
 * Re-deriving moves each row's next deadline past `now` (or clears it), so the next sweep does
 * not find it again.
 */
export class DeadlineSweep {
  constructor(
    private readonly walker: ChunkedWalker,
    private readonly enrollments: EnrollmentRepository,
    private readonly projector: EnrollmentProjector,
  ) {}

  async run(now = new Date()): Promise<{ swept: number; published: number }> {
    const at = now.toISOString();
    let published = 0;
    const walked = await this.walker.walk(
      this.enrollments.dueForDeadline(at),
      (tx, keys) =>
        this.projector.project(
          tx,
          keys.map((k) => ({ ...k, cause: DEADLINE_SWEEP_CAUSE })),
          at,
        ),
      (_, chunk) => {
        published += chunk.published;
      },
    );
    return { swept: walked.done, published };
  }
}
