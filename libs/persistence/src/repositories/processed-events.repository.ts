import type { Sql } from './sql';

export interface EventId {
  source: string;
  id: string;
}

/**
 * The inbox: the set of (source, id) pairs ever applied. Written in the projection's own
 * transaction, so an event is either applied and remembered, or neither. An operator's
 * retraction marks its event's entry (`retracted_at`) and forgets those of superseded events
 * (FactRetractionRepository.releaseSuperseded).
 */
export class ProcessedEventsRepository {
  /** Records the pairs and returns the keys ("source\u0000id") that were not seen before. */
  async claim(sql: Sql, events: readonly EventId[]): Promise<Set<string>> {
    if (events.length === 0) return new Set();
    // Inserted in one order everywhere, so concurrent slices never wait on each other in a cycle.
    events = [...events].sort(byEventId);
    const rows: EventId[] = await sql.query(
      `INSERT INTO processed_events (source, id)
       SELECT * FROM unnest($1::text[], $2::text[])
       ON CONFLICT DO NOTHING
       RETURNING source, id`,
      [events.map((e) => e.source), events.map((e) => e.id)],
    );
    return new Set(rows.map((r) => eventKey(r)));
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

export const eventKey = (e: EventId): string => `${e.source}\u0000${e.id}`;

/** A total order on (source, id), the same in every writer (lock order, not a collation). */
export const byEventId = (a: EventId, b: EventId): number => (a.source < b.source ? -1 : a.source > b.source ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
