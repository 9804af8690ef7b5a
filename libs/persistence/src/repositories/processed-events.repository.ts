import { createHash } from 'node:crypto';
import type { Fact } from '@app/domain';
import type { Sql } from './sql';

export interface EventId {
  source: string;
  id: string;
}

/** An event to claim, with the hash of what it says (`contentHash`). */
export interface EventClaim extends EventId {
  contentHash: Buffer;
}

export interface ClaimResult {
  /** The keys ("source\u0000id") that were not seen before: now recorded. */
  fresh: Set<string>;
  /** For each key seen before, the hash recorded with it (null for rows older than the hash). */
  seen: Map<string, Buffer | null>;
}

/**
 * The inbox: the set of (source, id) pairs ever applied. Written in the projection's own
 * transaction, so an event is either applied and remembered, or neither. An operator's
 * retraction marks its event's entry (`retracted_at`) and forgets those of superseded events
 * (FactRetractionRepository.releaseSuperseded).
 */
export class ProcessedEventsRepository {
  /**
   * Records the pairs with their content hashes. A pair seen before keeps the hash it was first
   * recorded with, returned in `seen` so the caller can tell a re-send from a conflicting reuse of
   * the id. Read in a second statement, so a pair that a concurrent transaction recorded (the
   * insert waited for it) is seen with its hash.
   */
  async claim(sql: Sql, events: readonly EventClaim[]): Promise<ClaimResult> {
    if (events.length === 0) return { fresh: new Set(), seen: new Map() };
    // Inserted in one order everywhere, so concurrent slices never wait on each other in a cycle.
    events = [...events].sort(byEventId);
    const rows: EventId[] = await sql.query(
      `INSERT INTO processed_events (source, id, content_hash)
       SELECT s.source, s.id, decode(s.hash, 'hex') FROM unnest($1::text[], $2::text[], $3::text[]) AS s(source, id, hash)
       ON CONFLICT DO NOTHING
       RETURNING source, id`,
      [events.map((e) => e.source), events.map((e) => e.id), events.map((e) => e.contentHash.toString('hex'))],
    );
    const fresh = new Set(rows.map((r) => eventKey(r)));
    const seen = new Map<string, Buffer | null>();
    const old = events.filter((e) => !fresh.has(eventKey(e)));
    if (old.length === 0) return { fresh, seen };
    const stored: (EventId & { content_hash: Buffer | null })[] = await sql.query(
      `SELECT p.source, p.id, p.content_hash FROM processed_events p
       JOIN unnest($1::text[], $2::text[]) AS s(source, id) ON p.source = s.source AND p.id = s.id`,
      [old.map((e) => e.source), old.map((e) => e.id)],
    );
    for (const r of stored) seen.set(eventKey(r), r.content_hash);
    return { fresh, seen };
  }

  /** The event's entry: when it was first applied, and when its fact was retracted (null: it was not). */
  async find(sql: Sql, event: EventId): Promise<{ processedAt: Date; retractedAt: Date | null } | undefined> {
    const [r]: { processed_at: Date; retracted_at: Date | null }[] = await sql.query(
      `SELECT processed_at, retracted_at FROM processed_events WHERE source = $1 AND id = $2`,
      [event.source, event.id],
    );
    return r ? { processedAt: r.processed_at, retractedAt: r.retracted_at } : undefined;
  }

  /** Marks the event as retracted (keeping the first mark): it stays a duplicate if it comes again. */
  async markRetracted(sql: Sql, event: EventId): Promise<void> {
    await sql.query(
      `INSERT INTO processed_events AS p (source, id, retracted_at) VALUES ($1, $2, now())
       ON CONFLICT (source, id) DO UPDATE SET retracted_at = coalesce(p.retracted_at, excluded.retracted_at)`,
      [event.source, event.id],
    );
  }
}

/**
 * What an event says, as the service reads it: its decoded fact (type, canonical time, source,
 * id and the data the rules use), keys sorted. So a re-send in the other CloudEvents mode, with
 * other key order, headers or trace context, hashes the same, and another payload or time does
 * not. The first 16 bytes of SHA-256: the hash is compared with one other, never looked up.
 */
export function contentHash(fact: Fact): Buffer {
  return createHash('sha256').update(canonicalJson(fact)).digest().subarray(0, 16);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export const eventKey = (e: EventId): string => `${e.source}\u0000${e.id}`;

/** A total order on (source, id), the same in every writer (lock order, not a collation). */
export const byEventId = (a: EventId, b: EventId): number => (a.source < b.source ? -1 : a.source > b.source ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
