import type { TraceContext } from '@app/contracts';
import type { FactMeta } from '@app/domain';
import type { Sql } from './sql';

export interface RecomputeRequest {
  courseId: number;
  generation: number;
  /** Which dispatch of this generation is current (1 until a job ends without completing it). */
  attempt: number;
  cause: { source: string; id: string; type: string };
  /** The trace context of the input event that caused the request (the latest one), if any. */
  traceContext: TraceContext | null;
}

/**
 * Durable requests to re-derive every enrollment of a course. They are written in the
 * transaction that stored the structure fact, so a request exists exactly when work is owed,
 * whether or not the queue (Redis) is reachable at that moment.
 */
export class RecomputeRequestRepository {
  /** `traceContexts`: per course, the trace context of the change's cause, kept with the request. */
  async request(sql: Sql, courses: ReadonlyMap<number, FactMeta>, traceContexts: ReadonlyMap<number, TraceContext | null> = new Map()): Promise<void> {
    if (courses.size === 0) return;
    const ids = [...courses.keys()].sort((a, b) => a - b);
    await sql.query(
      `INSERT INTO recompute_requests AS r (course_id, cause, trace_context)
       SELECT * FROM unnest($1::bigint[], $2::jsonb[], $3::jsonb[])
       ON CONFLICT (course_id) DO UPDATE
         SET generation = r.generation + 1, attempt = 1, cause = excluded.cause, trace_context = excluded.trace_context, requested_at = now()`,
      [
        ids,
        ids.map((id) => {
          const m = courses.get(id)!;
          return JSON.stringify({ source: m.source, id: m.id, type: m.type });
        }),
        ids.map((id) => {
          const t = traceContexts.get(id);
          return t ? JSON.stringify(t) : null;
        }),
      ],
    );
    await sql.query(`SELECT pg_notify($1, '')`, [RECOMPUTE_CHANNEL]);
  }

  async pending(sql: Sql, limit = 1000): Promise<RecomputeRequest[]> {
    const rows: RequestRow[] = await sql.query(
      `SELECT course_id, generation, attempt, cause, trace_context FROM recompute_requests
       WHERE generation > completed_generation ORDER BY requested_at LIMIT $1`,
      [limit],
    );
    return rows.map(toRequest);
  }

  /** The course's outstanding request, if work is owed. */
  async find(sql: Sql, courseId: number): Promise<RecomputeRequest | undefined> {
    const [r]: RequestRow[] = await sql.query(
      `SELECT course_id, generation, attempt, cause, trace_context FROM recompute_requests
       WHERE course_id = $1 AND generation > completed_generation`,
      [courseId],
    );
    return r ? toRequest(r) : undefined;
  }

  /**
   * The attempt after `req.attempt`, for a request whose job ended without completing it.
   * Compare-and-set: of dispatchers that saw the same attempt end, one counts the next and the
   * others read it, so all enqueue the same job id. Undefined when that generation is no longer
   * owed (completed, or superseded by a newer request, which has its own job).
   */
  async nextAttempt(sql: Sql, req: Pick<RecomputeRequest, 'courseId' | 'generation' | 'attempt'>): Promise<number | undefined> {
    const [rows]: [{ attempt: number }[], number] = await sql.query(
      `UPDATE recompute_requests SET attempt = CASE WHEN attempt = $3 THEN attempt + 1 ELSE attempt END
       WHERE course_id = $1 AND generation = $2 AND generation > completed_generation RETURNING attempt`,
      [req.courseId, req.generation, req.attempt],
    );
    return rows[0]?.attempt;
  }

  /**
   * Done with this generation. Returns whether that settled the course: false when a newer
   * request came in meanwhile (it stays owed and runs again).
   */
  async complete(sql: Sql, courseId: number, generation: number): Promise<boolean> {
    // TypeORM answers an UPDATE with [returned rows, row count], unlike a SELECT.
    const [rows]: [{ settled: boolean }[], number] = await sql.query(
      `UPDATE recompute_requests SET completed_generation = GREATEST(completed_generation, $2)
       WHERE course_id = $1 RETURNING generation <= completed_generation AS settled`,
      [courseId, generation],
    );
    return rows[0]?.settled ?? false;
  }

  async pendingCount(sql: Sql): Promise<number> {
    const [{ n }] = await sql.query(`SELECT count(*)::int AS n FROM recompute_requests WHERE generation > completed_generation`);
    return n;
  }
}

interface RequestRow {
  course_id: number;
  generation: string;
  attempt: number;
  cause: RecomputeRequest['cause'];
  trace_context: TraceContext | null;
}

function toRequest(r: RequestRow): RecomputeRequest {
  return { courseId: Number(r.course_id), generation: Number(r.generation), attempt: r.attempt, cause: r.cause, traceContext: r.trace_context };
}

export const RECOMPUTE_CHANNEL = 'enrollment_sync_recompute';
