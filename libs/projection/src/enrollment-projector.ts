import { randomUUID } from 'node:crypto';
import { buildOutputEvent, OutputCause, OutputEventType, TraceContext } from '@app/contracts';
import { CourseEnrollment, deletedEnrollmentState, deriveEnrollment, materialDiff, stampUpdatedAt } from '@app/domain';
import { EnrollmentKey, EnrollmentRepository, EnrollmentRow, FactRepository, OutboxEntry, OutboxRepository, Sql } from '@app/persistence';

export interface ProjectionTarget extends EnrollmentKey {
  cause: OutputCause;
  /** The trace context of the cause, stored with the outbox row and sent on the output event. */
  traceContext?: TraceContext | null;
}

export interface ProjectionResult {
  derived: number;
  published: number;
  byType: Record<OutputEventType, number>;
}

/**
 * Re-derives enrollments from their stored facts inside the caller's transaction and, where the
 * CourseEnrollments object materially changed, stores it with the next version and queues the
 * event in the outbox. Every path that can change an enrollment (input events, the recompute
 * fan-out, deadline sweeps, rebuilds) goes through here, so versions stay gapless per key.
 *
 * A deleted enrollment publishes its last published state (`deletedEnrollmentState`), not the
 * state derived after the deletion; once deleted, it is published again only when an erasure
 * reaches something that state still shows, or when a newer upsert brings it back as created.
 */
export class EnrollmentProjector {
  constructor(
    private readonly facts: FactRepository,
    private readonly enrollments: EnrollmentRepository,
    private readonly outbox: OutboxRepository,
    private readonly courseUrlTemplate: string,
  ) {}

  async project(sql: Sql, targets: readonly ProjectionTarget[], now = new Date().toISOString()): Promise<ProjectionResult> {
    const result: ProjectionResult = { derived: 0, published: 0, byType: { created: 0, updated: 0, deleted: 0 } };
    const unique = [...new Map(targets.map((t) => [`${t.courseId}:${t.userId}`, t])).values()];
    if (unique.length === 0) return result;

    await this.enrollments.lock(sql, unique);
    const facts = await this.facts.loadEnrollmentFacts(sql, unique);
    const rows = await this.enrollments.find(sql, unique);

    const writes: EnrollmentRow[] = [];
    const events: OutboxEntry[] = [];
    for (const target of unique) {
      const id = `${target.courseId}:${target.userId}`;
      const derived = deriveEnrollment(facts.get(id)!, { now, courseUrlTemplate: this.courseUrlTemplate });
      if (!derived.exists) continue; // progress before membership: kept as facts, not published
      result.derived++;
      const prev = rows.get(id);
      const published = prev !== undefined && prev.version > 0;
      const live = published && !prev.deleted;

      let type: OutputEventType;
      let next: { enrollment: CourseEnrollment; changedFields: ReturnType<typeof materialDiff> };
      if (derived.deleted) {
        if (!published) {
          // Deleted before its first event: publish nothing, but keep the row what the facts say
          // (so it never holds a name erased since).
          if (!prev || materialDiff(prev.state, derived.enrollment).length > 0) {
            writes.push(rowOf(derived, 0, true, stampUpdatedAt(prev?.state ?? null, derived.enrollment, now).enrollment));
          }
          continue;
        }
        next = deletedEnrollmentState(prev.state, derived, now);
        // Already published as deleted: again only when an erasure removed something from it.
        if (!live && next.changedFields.length === 0) continue;
        type = 'deleted';
      } else {
        type = live ? 'updated' : 'created';
        next = stampUpdatedAt(live ? prev.state : null, derived.enrollment, now);
      }

      const { enrollment, changedFields } = next;
      if (type === 'updated' && changedFields.length === 0) {
        // No material change, but the next deadline may have moved (e.g. due_at edited back and forth).
        if (prev!.nextDeadlineAt !== derived.nextDeadline) writes.push({ ...prev!, nextDeadlineAt: derived.nextDeadline });
        continue;
      }
      const version = (prev?.version ?? 0) + 1;
      writes.push(rowOf(derived, version, type === 'deleted', enrollment));
      events.push({
        enrollmentId: id,
        version,
        traceContext: target.traceContext ?? null,
        event: buildOutputEvent({
          id: randomUUID(),
          time: now,
          type,
          version,
          changedFields,
          cause: target.cause,
          courseEnrollment: enrollment,
        }),
      });
      result.published++;
      result.byType[type]++;
    }
    // Every target counts as a derivation of its course, written or not (e.g. a profile change
    // that only moves the member list's username): the course views' ETag follows it.
    await this.enrollments.upsert(sql, writes, unique);
    await this.outbox.add(sql, events);
    return result;
  }
}

function rowOf(derived: ReturnType<typeof deriveEnrollment> & { exists: true }, version: number, deleted: boolean, state: CourseEnrollment): EnrollmentRow {
  return {
    courseId: derived.courseId,
    userId: derived.userId,
    id: derived.id,
    version,
    deleted,
    status: state.status,
    joinStatus: derived.counters.join_status,
    userCompletionRate: derived.counters.user_completion_rate,
    state,
    updatedAt: state.updated_at,
    nextDeadlineAt: deleted ? null : derived.nextDeadline,
  };
}
