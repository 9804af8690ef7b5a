import type { TraceContext } from '@app/contracts';
import type { OutputPartitions } from './output-partitions';
import type { Sql } from './sql';

export interface OutboxEntry {
  enrollmentId: string;
  version: number;
  /** The whole CloudEvent, ready to publish. */
  event: object;
  /** The trace context of the input event that caused the change (its `cause`), if it had one. */
  traceContext?: TraceContext | null;
}

export interface PendingEntry extends OutboxEntry {
  seq: string;
  /** The output partition stored with the row. */
  partition: number;
  /** Seconds from the event's insert to the read that returned it (the database's clock). */
  ageSeconds: number;
}

/** An event the relay set aside: refused by the broker, or held behind a refused version of its key. */
export interface ParkedEntry {
  seq: string;
  enrollmentId: string;
  version: number;
  type: string;
  /** Bytes of the value the relay sends (the event as JSON). */
  bytes: number;
  reason: string;
  parkedAt: Date;
}

/** Rows parked by one call, for the log: the event's key and versions, never its payload. */
export interface ParkedRows {
  enrollmentId: string;
  versions: number[];
}

export const OUTBOX_CHANNEL = 'enrollment_sync_outbox';

const HELD_BEHIND = 'held behind parked version ';

/** The reason given to later versions of a key whose version `version` is parked. */
export const heldBehindReason = (version: number): string => `${HELD_BEHIND}${version}`;

/**
 * Parking and republishing take this transaction-scoped lock (per schema), so that holding a
 * key's new events behind its parked version never interleaves with moving that key back to
 * pending: otherwise a new version could stay parked alone after its head was republished.
 */
const PARKING_LOCK = `SELECT pg_advisory_xact_lock(hashtextextended('enrollment-sync:outbox-parking:' || current_schema(), 0))`;

/**
 * The transactional outbox: events are written with the state change and published after.
 * A row is pending while `parked_at` is null. A parked row stays where it is (same `seq`), and
 * no later version of its key is handed out while it is parked, so a key never skips a version.
 */
export class OutboxRepository {
  /** Without `partitions` rows are written with no partition; the relay assigns one before it reads them. */
  constructor(private readonly partitions?: OutputPartitions) {}

  async add(sql: Sql, entries: readonly OutboxEntry[]): Promise<void> {
    if (entries.length === 0) return;
    // The NOTIFY rides in the same statement (one round trip less per slice); it wakes the relay
    // when this transaction commits, as NOTIFY is delivered on commit only. A data-modifying CTE
    // runs to completion whether or not the outer query reads all of it.
    await sql.query(
      `WITH added AS (
         INSERT INTO outbox (enrollment_id, version, event, trace_context, output_partition)
         SELECT * FROM unnest($1::text[], $2::int[], $3::jsonb[], $4::jsonb[], $5::int[])
       )
       SELECT pg_notify($6, '')`,
      [
        entries.map((e) => e.enrollmentId),
        entries.map((e) => e.version),
        entries.map((e) => JSON.stringify(e.event)),
        entries.map((e) => (e.traceContext ? JSON.stringify(e.traceContext) : null)),
        entries.map((e) => this.partitions?.partitionOf(e.enrollmentId) ?? null),
        OUTBOX_CHANNEL,
      ],
    );
  }

  /**
   * The oldest pending events of `partitions`; a key's versions come out in order since they were
   * inserted so. Versions of a key above a parked one are left out even before they are marked
   * held. Rows without a partition are not returned.
   */
  async next(sql: Sql, limit: number, partitions: readonly number[]): Promise<PendingEntry[]> {
    // Each partition's head is read by its own (output_partition, seq) index range: one
    // "output_partition = ANY(...) ORDER BY seq" sorted every pending row of those partitions,
    // so a read cost as much as the backlog (100k rows after a course-wide recompute).
    const rows: PendingRow[] = await sql.query(
      `SELECT o.* FROM unnest($2::int[]) AS part(n)
         CROSS JOIN LATERAL (
           SELECT o.seq, o.enrollment_id, o.version, o.event, o.trace_context, o.output_partition,
                  extract(epoch FROM statement_timestamp() - o.created_at)::float8 AS age_seconds
             FROM outbox o
            WHERE o.output_partition = part.n
              AND o.parked_at IS NULL
              AND NOT EXISTS (
                    SELECT 1 FROM outbox p
                     WHERE p.parked_at IS NOT NULL AND p.enrollment_id = o.enrollment_id AND p.version < o.version)
            ORDER BY o.seq
            LIMIT $1
         ) o
        ORDER BY o.seq
        LIMIT $1`,
      [limit, partitions],
    );
    return rows.map((r) => ({
      seq: String(r.seq),
      enrollmentId: r.enrollment_id,
      version: r.version,
      partition: r.output_partition,
      event: r.event,
      traceContext: r.trace_context,
      ageSeconds: Math.max(0, r.age_seconds),
    }));
  }

  /** Keys with pending rows that have no output partition yet (written without a partition count). */
  async unassignedKeys(sql: Sql, limit: number): Promise<string[]> {
    const rows: { enrollment_id: string }[] = await sql.query(`SELECT DISTINCT enrollment_id FROM outbox WHERE output_partition IS NULL LIMIT $1`, [limit]);
    return rows.map((r) => r.enrollment_id);
  }

  /** Sets the output partition of every row of each key that has none. */
  async assignPartitions(sql: Sql, keys: readonly string[], partitions: readonly number[]): Promise<void> {
    if (keys.length === 0) return;
    await sql.query(
      `UPDATE outbox o SET output_partition = a.partition
         FROM unnest($1::text[], $2::int[]) AS a(enrollment_id, partition)
        WHERE o.enrollment_id = a.enrollment_id AND o.output_partition IS NULL`,
      [keys, partitions],
    );
  }

  /**
   * Deletes published rows, but only while `replica` still owns `slot` (its lease has not run
   * out): a replica that lost the slot leaves the rows to the new owner, who sends them again.
   * Returns whether the rows were purged.
   */
  async purgeOwned(sql: Sql, seqs: readonly string[], slot: number, replica: string): Promise<boolean> {
    if (seqs.length === 0) return true;
    const [, count]: [unknown[], number] = await sql.query(
      `DELETE FROM outbox
        WHERE seq = ANY($1::bigint[])
          AND EXISTS (SELECT 1 FROM outbox_relay_slots s WHERE s.slot = $2 AND s.owner = $3 AND s.lease_expires_at > now())`,
      [seqs, slot, replica],
    );
    return count > 0;
  }

  async purge(sql: Sql, seqs: readonly string[]): Promise<void> {
    if (seqs.length === 0) return;
    await sql.query(`DELETE FROM outbox WHERE seq = ANY($1::bigint[])`, [seqs]);
  }

  /**
   * Parks the version the broker refused, with its reason, and holds every later version of its
   * key behind it. `tx` must be a transaction (the parking lock is transaction-scoped).
   */
  async park(tx: Sql, enrollmentId: string, version: number, reason: string): Promise<ParkedRows> {
    await tx.query(PARKING_LOCK);
    // TypeORM answers an UPDATE with [returned rows, row count], unlike a SELECT.
    const [rows]: [{ version: number }[], number] = await tx.query(
      `UPDATE outbox
          SET parked_at = now(),
              parked_reason = CASE WHEN version = $2 THEN $3 ELSE $4 END
        WHERE enrollment_id = $1 AND version >= $2 AND parked_at IS NULL
        RETURNING version`,
      [enrollmentId, version, reason, heldBehindReason(version)],
    );
    return { enrollmentId, versions: rows.map((r) => r.version).sort((a, b) => a - b) };
  }

  /**
   * Marks pending versions of keys that have a parked version as held behind it (events the
   * projection wrote after the park). `tx` must be a transaction.
   */
  async holdBehindParked(tx: Sql): Promise<ParkedRows[]> {
    await tx.query(PARKING_LOCK);
    const [rows]: [{ enrollment_id: string; version: number }[], number] = await tx.query(
      `WITH heads AS (
         SELECT enrollment_id, min(version) AS version FROM outbox WHERE parked_at IS NOT NULL GROUP BY enrollment_id
       )
       UPDATE outbox o
          SET parked_at = now(), parked_reason = $1::text || h.version
         FROM heads h
        WHERE o.enrollment_id = h.enrollment_id AND o.version > h.version AND o.parked_at IS NULL
        RETURNING o.enrollment_id, o.version`,
      [HELD_BEHIND],
    );
    return group(rows);
  }

  /** Parked events, in (enrollment id, version) order; all of them, or one enrollment's. */
  async parked(sql: Sql, enrollmentId?: string): Promise<ParkedEntry[]> {
    const rows: { seq: string; enrollment_id: string; version: number; event: { type?: unknown }; parked_reason: string; parked_at: Date }[] = await sql.query(
      `SELECT seq, enrollment_id, version, event, parked_reason, parked_at
           FROM outbox
          WHERE parked_at IS NOT NULL AND ($1::text IS NULL OR enrollment_id = $1)
          ORDER BY enrollment_id, version`,
      [enrollmentId ?? null],
    );
    return rows.map((r) => ({
      seq: String(r.seq),
      enrollmentId: r.enrollment_id,
      version: r.version,
      type: typeof r.event.type === 'string' ? r.event.type : '',
      // The relay sends JSON.stringify of the stored event; jsonb's own text form is spaced differently.
      bytes: Buffer.byteLength(JSON.stringify(r.event)),
      reason: r.parked_reason,
      parkedAt: r.parked_at,
    }));
  }

  /**
   * Moves parked events back to pending (all, or one enrollment's), every version of a key at
   * once, and wakes the relay. They keep their `seq`, so each key's versions leave in order.
   * `tx` must be a transaction.
   */
  async republish(tx: Sql, enrollmentId?: string): Promise<ParkedRows[]> {
    await tx.query(PARKING_LOCK);
    const [rows]: [{ enrollment_id: string; version: number }[], number] = await tx.query(
      `UPDATE outbox SET parked_at = NULL, parked_reason = NULL
        WHERE parked_at IS NOT NULL AND ($1::text IS NULL OR enrollment_id = $1)
        RETURNING enrollment_id, version`,
      [enrollmentId ?? null],
    );
    if (rows.length > 0) await tx.query(`SELECT pg_notify($1, '')`, [OUTBOX_CHANNEL]);
    return group(rows);
  }

  /** Events waiting to be published (parked ones excluded). */
  async pendingCount(sql: Sql): Promise<number> {
    const [{ n }] = await sql.query(`SELECT count(*)::int AS n FROM outbox WHERE parked_at IS NULL`);
    return n;
  }

  /** Pending (not parked) events: how many, and the oldest one's age in seconds (0 when none). */
  async pendingStats(sql: Sql): Promise<{ count: number; oldestAgeSeconds: number }> {
    const [{ n, s }] = await sql.query(
      `SELECT count(*)::int AS n, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS s
         FROM outbox WHERE parked_at IS NULL`,
    );
    return { count: n, oldestAgeSeconds: Math.max(0, s) };
  }

  async parkedCount(sql: Sql): Promise<number> {
    const [{ n }] = await sql.query(`SELECT count(*)::int AS n FROM outbox WHERE parked_at IS NOT NULL`);
    return n;
  }

  /** Age of the oldest pending (not parked) event in seconds; 0 when none is pending. */
  async oldestPendingAgeSeconds(sql: Sql): Promise<number> {
    const [{ s }] = await sql.query(`SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS s FROM outbox WHERE parked_at IS NULL`);
    return Math.max(0, s);
  }
}

interface PendingRow {
  seq: string;
  enrollment_id: string;
  version: number;
  event: object;
  trace_context: TraceContext | null;
  output_partition: number;
  age_seconds: number;
}

/** Rows grouped by key, versions ascending, keys in byte order. */
function group(rows: readonly { enrollment_id: string; version: number }[]): ParkedRows[] {
  const byKey = new Map<string, number[]>();
  for (const r of rows) byKey.set(r.enrollment_id, [...(byKey.get(r.enrollment_id) ?? []), r.version]);
  return [...byKey].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([enrollmentId, versions]) => ({ enrollmentId, versions: versions.sort((a, b) => a - b) }));
}
