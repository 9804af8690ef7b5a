import { canonicalTime, FactKind } from '@app/domain';
import type { OutputCause } from '@app/contracts';
import {
  Database,
  EnrollmentKey,
  EnrollmentRepository,
  EventId,
  factTable,
  FactRetractionRepository,
  ProcessedEventsRepository,
  RecomputeRequestRepository,
  StoredFactRef,
} from '@app/persistence';
import { EnrollmentProjector } from './enrollment-projector';

/** What the operator's command did, for its report. */
export interface Retracted {
  found: true;
  kind: FactKind;
  /** A register fact displaced others (see `released`); a log fact displaced none. */
  storage: 'register' | 'log';
  /** Every row that held the fact (a course upsert: its register row and its snapshot). */
  removed: StoredFactRef[];
  /** Inbox entries forgotten so that the register events the fact had displaced can be re-sent. */
  released: number;
  /** Re-derived in the retraction's transaction (membership, progress, grade and user facts). */
  derived: number;
  published: number;
  /** Enrollments re-derived whose last membership fact was the retracted one: they keep their last state. */
  withoutMembership: string[];
  /** A structure fact's course, whose enrollments the course recompute re-derives. */
  recompute?: { courseId: number; generation: number };
}

/** No stored fact holds the event; what the inbox knows of it, if anything. */
export interface NotFound {
  found: false;
  processedAt?: Date;
  retractedAt?: Date | null;
}

/**
 * Removes one stored fact, named by its event, as if it had never arrived: a fact from a
 * producer whose clock was in the future wins every comparison by time and freezes what it
 * touched. In one transaction: the fact's rows go, its inbox entry is marked (the event stays a
 * duplicate, so a replay does not bring it back), and what it touched is re-derived through the
 * projector, as when a fact is stored, so versions stay gapless.
 *
 * - A log fact (membership, progress, grade) sat beside the facts it outranked, which are all
 *   still stored: its enrollment is re-derived here and shows what they say.
 * - A register fact (course, section, lesson, user) replaced the row's previous fact and made
 *   every later one a no-op; neither is stored. The inbox forgets every event no table holds, so
 *   re-sent (or replayed) they are applied again and the latest wins. A user's enrollments are
 *   re-derived here; a structure fact requests a course recompute, as its arrival did, and the
 *   jobs worker walks the course in chunks.
 *
 * An erasure is not undone: a retracted `lms.user.deleted` leaves the user id in
 * `erased_users` (rules.md: any deletion fact erases the actor name for good).
 */
export class FactRetraction {
  constructor(
    private readonly db: Database,
    private readonly retraction: FactRetractionRepository,
    private readonly processed: ProcessedEventsRepository,
    private readonly enrollments: EnrollmentRepository,
    private readonly recomputeRequests: RecomputeRequestRepository,
    private readonly projector: EnrollmentProjector,
  ) {}

  /** Facts whose time is after `after` (canonical), the candidates for a retraction. */
  after(after: string): Promise<StoredFactRef[]> {
    return this.retraction.after(this.db, after);
  }

  /** `cause`: the operator's command, named as the cause of what it publishes. */
  retract(event: EventId, cause: Extract<OutputCause, { source: string }>): Promise<Retracted | NotFound> {
    return this.db.transaction(async (tx) => {
      const removed = await this.retraction.remove(tx, event);
      if (removed.length === 0) {
        const entry = await this.processed.find(tx, event);
        return { found: false, ...entry };
      }
      await this.processed.markRetracted(tx, event);
      const { kind } = removed[0];
      const spec = factTable(kind);
      const released = spec.storage === 'register' ? await this.retraction.releaseSuperseded(tx) : 0;
      const result: Retracted = { found: true, kind, storage: spec.storage, removed, released, derived: 0, published: 0, withoutMembership: [] };
      const keys = removed[0].keys;

      if (spec.scope === 'course') {
        const courseId = keys.course_id;
        await this.recomputeRequests.request(tx, new Map([[courseId, { ...cause, time: canonicalTime(new Date().toISOString()) }]]));
        const request = await this.recomputeRequests.find(tx, courseId);
        if (!request) throw new Error(`the recompute request of course ${courseId} was not recorded`);
        result.recompute = { courseId, generation: request.generation };
        return result;
      }

      let targets: EnrollmentKey[];
      if (spec.scope === 'user') {
        // Before its enrollments are looked up, as for a profile change (EnrollmentRepository.lockOwners).
        await this.enrollments.lockOwners(tx, [keys.user_id], [], 'exclusive');
        targets = await this.enrollments.keysOfUsers(tx, [keys.user_id]);
      } else {
        targets = [{ courseId: keys.course_id, userId: keys.user_id }];
      }
      const projected = await this.projector.project(
        tx,
        targets.map((k) => ({ ...k, cause, traceContext: null })),
      );
      result.derived = projected.derived;
      result.published = projected.published;
      if (kind === 'membership') {
        const left: { n: number }[] = await tx.query(`SELECT count(*)::int AS n FROM membership_facts WHERE course_id = $1 AND user_id = $2`, [
          keys.course_id,
          keys.user_id,
        ]);
        if (left[0].n === 0) result.withoutMembership.push(`${keys.course_id}:${keys.user_id}`);
      }
      return result;
    });
  }
}
