import { SpanKind } from '@opentelemetry/api';
import type { InputEvent, TraceContext } from '@app/contracts';
import { inPipelineSpan, linksTo } from '@app/observability';
import { contentHash, Database, EnrollmentRepository, eventKey, FactRepository, ProcessedEventsRepository, RecomputeRequestRepository } from '@app/persistence';
import { EnrollmentProjector, ProjectionTarget } from './enrollment-projector';

/** What became of one input event (dead letters are decided before, at the edge). */
export type Outcome = 'applied' | 'duplicate' | 'noop';

export interface ApplyResult {
  /** One per input event, in input order. */
  outcomes: Outcome[];
  /**
   * One per input event: a duplicate whose content (payload or time) differs from the event
   * first processed under its source and id. Still a duplicate: the first content stays.
   */
  conflicting?: boolean[];
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
    private readonly db: Database,
    private readonly processed: ProcessedEventsRepository,
    private readonly facts: FactRepository,
    private readonly enrollments: EnrollmentRepository,
    private readonly recompute: RecomputeRequestRepository,
    private readonly projector: EnrollmentProjector,
  ) {}

  /**
   * One `apply` span per transaction (a bisection runs several), linked to the trace of every
   * event in it: a slice serves many traces, so it cannot be the child of one. Its database
   * calls are its children. Each change queued in the outbox keeps the context of the event
   * that caused it.
   */
  async apply(events: readonly InputEvent[]): Promise<ApplyResult> {
    if (events.length === 0) return { outcomes: [], conflicting: [], published: 0, recomputesRequested: 0 };
    return inPipelineSpan(
      'apply',
      { kind: SpanKind.CONSUMER, links: linksTo(events.map((e) => e.traceContext)), attributes: { 'messaging.batch.message_count': events.length } },
      () => this.applyInTransaction(events),
      (r) => ({ 'enrollment_sync.published': r.published, 'enrollment_sync.recomputes_requested': r.recomputesRequested }),
    );
  }

  private applyInTransaction(events: readonly InputEvent[]): Promise<ApplyResult> {
    return this.db.transaction(async (tx) => {
      const firstSeen = new Map<string, InputEvent>();
      const hashes = new Map<InputEvent, Buffer>();
      for (const e of events) {
        if (!firstSeen.has(eventKey(e))) firstSeen.set(eventKey(e), e);
        hashes.set(e, contentHash(e.fact));
      }
      const { fresh, seen } = await this.processed.claim(
        tx,
        [...firstSeen.values()].map((e) => ({ source: e.source, id: e.id, contentHash: hashes.get(e)! })),
      );
      const toStore = [...firstSeen.values()].filter((e) => fresh.has(eventKey(e)));

      const stored = await this.facts.store(
        tx,
        toStore.map((e) => e.fact),
      );
      // Before the enrollments of changed users are looked up (see EnrollmentRepository.lockOwners).
      // Changed courses take theirs in the recompute they request (CourseRecompute), not here.
      await this.enrollments.lockOwners(tx, [...stored.changedUsers.keys()], [], 'exclusive');
      await this.enrollments.lockOwners(
        tx,
        stored.newMemberships.map((k) => k.userId),
        stored.newMemberships.map((k) => k.courseId),
        'shared',
      );
      const traceOf = (cause: { source: string; id: string }): TraceContext | null => firstSeen.get(eventKey(cause))?.traceContext ?? null;
      await this.recompute.request(tx, stored.changedCourses, new Map([...stored.changedCourses].map(([courseId, cause]) => [courseId, traceOf(cause)])));

      const targets: ProjectionTarget[] = [...stored.enrollments.values()].map((t) => ({
        courseId: t.courseId,
        userId: t.userId,
        cause: causeOf(t.cause),
        traceContext: traceOf(t.cause),
      }));
      for (const key of await this.enrollments.keysOfUsers(tx, [...stored.changedUsers.keys()])) {
        const cause = stored.changedUsers.get(key.userId)!;
        targets.push({ ...key, cause: causeOf(cause), traceContext: traceOf(cause) });
      }
      // Other users' enrollments naming a newly erased user as actor (rules.md "Deletion and erasure").
      for (const t of stored.erasedActorEnrollments.values()) {
        targets.push({ courseId: t.courseId, userId: t.userId, cause: causeOf(t.cause), traceContext: traceOf(t.cause) });
      }
      const projected = await this.projector.project(tx, targets);

      const counted = new Set<string>();
      const outcomes = events.map((e): Outcome => {
        const key = eventKey(e);
        if (!fresh.has(key) || counted.has(key)) return 'duplicate';
        counted.add(key);
        return stored.applied.has(key) ? 'applied' : 'noop';
      });
      // Compared with what the pair was first recorded with: the stored hash, or the copy of this
      // slice that was applied. A row without a hash (older than it) cannot be compared.
      const conflicting = events.map((e) => {
        const key = eventKey(e);
        const reference = fresh.has(key) ? hashes.get(firstSeen.get(key)!)! : seen.get(key);
        return !!reference && !reference.equals(hashes.get(e)!);
      });
      return { outcomes, conflicting, published: projected.published, recomputesRequested: stored.changedCourses.size };
    });
  }
}

const causeOf = (m: { source: string; id: string; type: string }) => ({ source: m.source, id: m.id, type: m.type });
