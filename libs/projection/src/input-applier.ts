import type { DataSource } from 'typeorm';
import type { InputEvent } from '@app/contracts';
import {
  EnrollmentRepository,
  eventKey,
  FactRepository,
  ProcessedEventsRepository,
  RecomputeRequestRepository,
} from '@app/persistence';
import { EnrollmentProjector, ProjectionTarget } from './enrollment-projector';

/** What became of one input event (dead letters are decided before, at the edge). */
export type Outcome = 'applied' | 'duplicate' | 'noop';

export interface ApplyResult {
  /** One per input event, in input order. */
  outcomes: Outcome[];
  published: number;
  recomputesRequested: number;
}

/**
 * Applies decoded input events in one transaction: remembers each (source, id), stores the new
 * facts, requests a course-wide recompute for structure changes, and re-derives the directly
 * affected enrollments. All of it commits together or not at all, so a crash at any point
 * leaves either the whole slice applied or none of it, and a re-read finds only duplicates.
 */
export class InputApplier {
  constructor(
    private readonly ds: DataSource,
    private readonly processed: ProcessedEventsRepository,
    private readonly facts: FactRepository,
    private readonly enrollments: EnrollmentRepository,
    private readonly recompute: RecomputeRequestRepository,
    private readonly projector: EnrollmentProjector,
  ) {}

  async apply(events: readonly InputEvent[]): Promise<ApplyResult> {
    if (events.length === 0) return { outcomes: [], published: 0, recomputesRequested: 0 };
    return this.ds.transaction(async (tx) => {
      const firstSeen = new Map<string, InputEvent>();
      for (const e of events) if (!firstSeen.has(eventKey(e))) firstSeen.set(eventKey(e), e);
      const fresh = await this.processed.claim(tx, [...firstSeen.values()]);
      const toStore = [...firstSeen.values()].filter((e) => fresh.has(eventKey(e)));

      const stored = await this.facts.store(tx, toStore.map((e) => e.fact));
      // Before the enrollments of changed users are looked up (see EnrollmentRepository.lockOwners).
      await this.enrollments.lockOwners(tx, [...stored.changedUsers.keys()], [...stored.changedCourses.keys()], 'exclusive');
      await this.enrollments.lockOwners(tx, stored.newMemberships.map((k) => k.userId), stored.newMemberships.map((k) => k.courseId), 'shared');
      await this.recompute.request(tx, stored.changedCourses);

      const targets: ProjectionTarget[] = [...stored.enrollments.values()].map((t) => ({
        courseId: t.courseId,
        userId: t.userId,
        cause: causeOf(t.cause),
      }));
      for (const key of await this.enrollments.keysOfUsers(tx, [...stored.changedUsers.keys()])) {
        targets.push({ ...key, cause: causeOf(stored.changedUsers.get(key.userId)!) });
      }
      // Other users' enrollments naming a newly erased user as actor (rules.md "Deletion and erasure").
      for (const t of stored.erasedActorEnrollments.values()) targets.push({ courseId: t.courseId, userId: t.userId, cause: causeOf(t.cause) });
      const projected = await this.projector.project(tx, targets);

      const counted = new Set<string>();
      const outcomes = events.map((e): Outcome => {
        const key = eventKey(e);
        if (!fresh.has(key) || counted.has(key)) return 'duplicate';
        counted.add(key);
        return stored.applied.has(key) ? 'applied' : 'noop';
      });
      return { outcomes, published: projected.published, recomputesRequested: stored.changedCourses.size };
    });
  }
}

const causeOf = (m: { source: string; id: string; type: string }) => ({ source: m.source, id: m.id, type: m.type });
