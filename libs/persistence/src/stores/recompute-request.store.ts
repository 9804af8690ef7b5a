import { DataSource } from 'typeorm';
import { RecomputeRequest, RecomputeRequestRepository } from '../repositories/recompute-request.repository';

/** Recompute requests as the jobs worker's dispatcher and processor read them, on the pool. */
export class RecomputeRequestStore {
  constructor(
    private readonly ds: DataSource,
    private readonly requests: RecomputeRequestRepository = new RecomputeRequestRepository(),
  ) {}

  pending(limit?: number): Promise<RecomputeRequest[]> {
    return this.requests.pending(this.ds, limit);
  }

  find(courseId: number): Promise<RecomputeRequest | undefined> {
    return this.requests.find(this.ds, courseId);
  }

  nextAttempt(req: Pick<RecomputeRequest, 'courseId' | 'generation' | 'attempt'>): Promise<number | undefined> {
    return this.requests.nextAttempt(this.ds, req);
  }
}
