import type { Sql } from './sql';

export interface OutboxEntry {
  enrollmentId: string;
  version: number;
  /** The whole CloudEvent, ready to publish. */
  event: object;
}

export interface PendingEntry extends OutboxEntry {
  seq: string;
}

export const OUTBOX_CHANNEL = 'enrollment_sync_outbox';

/** The transactional outbox: events are written with the state change and published after. */
export class OutboxRepository {
  async add(sql: Sql, entries: readonly OutboxEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await sql.query(
      `INSERT INTO outbox (enrollment_id, version, event)
       SELECT * FROM unnest($1::text[], $2::int[], $3::jsonb[])`,
      [entries.map((e) => e.enrollmentId), entries.map((e) => e.version), entries.map((e) => JSON.stringify(e.event))],
    );
    // Wakes the relay when this transaction commits (NOTIFY is delivered on commit only).
    await sql.query(`SELECT pg_notify($1, '')`, [OUTBOX_CHANNEL]);
  }

  /** The oldest pending events; a key's versions come out in order since they were inserted so. */
  async next(sql: Sql, limit: number): Promise<PendingEntry[]> {
    const rows: { seq: string; enrollment_id: string; version: number; event: object }[] = await sql.query(
      `SELECT seq, enrollment_id, version, event FROM outbox ORDER BY seq LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({ seq: String(r.seq), enrollmentId: r.enrollment_id, version: r.version, event: r.event }));
  }

  async purge(sql: Sql, seqs: readonly string[]): Promise<void> {
    if (seqs.length === 0) return;
    await sql.query(`DELETE FROM outbox WHERE seq = ANY($1::bigint[])`, [seqs]);
  }

  /** Seconds since the oldest event still waiting to be published was written; 0 when none waits. */
  async oldestPendingAgeSeconds(sql: Sql): Promise<number> {
    const [row] = await sql.query(`SELECT extract(epoch FROM now() - created_at)::float8 AS age FROM outbox ORDER BY seq LIMIT 1`);
    return row ? Math.max(0, Number(row.age)) : 0;
  }

  async pendingCount(sql: Sql): Promise<number> {
    const [{ n }] = await sql.query(`SELECT count(*)::int AS n FROM outbox`);
    return n;
  }
}
