import type { FactMeta } from '@app/domain';
import type { Sql } from './sql';

export interface RecomputeRequest {
  courseId: number;
  generation: number;
  cause: { source: string; id: string; type: string };
}

/**
 * Durable requests to re-derive every enrollment of a course. They are written in the
 * transaction that stored the structure fact, so a request exists exactly when work is owed,
 * whether or not the queue (Redis) is reachable at that moment.
 */
export class RecomputeRequestRepository {
  async request(sql: Sql, courses: ReadonlyMap<number, FactMeta>): Promise<void> {
    if (courses.size === 0) return;
    const ids = [...courses.keys()].sort((a, b) => a - b);
    await sql.query(
      `INSERT INTO recompute_requests AS r (course_id, cause)
       SELECT * FROM unnest($1::bigint[], $2::jsonb[])
       ON CONFLICT (course_id) DO UPDATE SET generation = r.generation + 1, cause = excluded.cause, requested_at = now()`,
      [ids, ids.map((id) => { const m = courses.get(id)!; return JSON.stringify({ source: m.source, id: m.id, type: m.type }); })],
    );
    await sql.query(`SELECT pg_notify($1, '')`, [RECOMPUTE_CHANNEL]);
  }

  async pending(sql: Sql, limit = 1000): Promise<RecomputeRequest[]> {
    const rows: { course_id: number; generation: string; cause: RecomputeRequest['cause'] }[] = await sql.query(
      `SELECT course_id, generation, cause FROM recompute_requests ORDER BY requested_at LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({ courseId: r.course_id, generation: Number(r.generation), cause: r.cause }));
  }

  async find(sql: Sql, courseId: number): Promise<RecomputeRequest | undefined> {
    const [r] = await sql.query(`SELECT course_id, generation, cause FROM recompute_requests WHERE course_id = $1`, [courseId]);
    return r ? { courseId: r.course_id, generation: Number(r.generation), cause: r.cause } : undefined;
  }

  /** Done with this generation; a newer request that came in meanwhile stays. */
  async complete(sql: Sql, courseId: number, generation: number): Promise<boolean> {
    const rows = await sql.query(`DELETE FROM recompute_requests WHERE course_id = $1 AND generation = $2 RETURNING 1`, [
      courseId,
      generation,
    ]);
    return rows.length > 0;
  }
}

export const RECOMPUTE_CHANNEL = 'enrollment_sync_recompute';
