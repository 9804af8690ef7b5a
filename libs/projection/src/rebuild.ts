import { ChunkedWalker, EnrollmentRepository } from '@app/persistence';
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
    private readonly walker: ChunkedWalker,
    private readonly enrollments: EnrollmentRepository,
    private readonly projector: EnrollmentProjector,
  ) {}

  async run(onProgress?: (p: RebuildProgress) => Promise<void> | void): Promise<RebuildProgress> {
    let published = 0;
    const walked = await this.walker.walk(
      this.enrollments.withMembershipFacts(),
      (tx, keys) =>
        this.projector.project(
          tx,
          keys.map((k) => ({ ...k, cause: REBUILD_CAUSE })),
        ),
      async (p, chunk) => {
        published += chunk.published;
        await onProgress?.({ ...p, published });
      },
    );
    return { ...walked, published };
  }
}
