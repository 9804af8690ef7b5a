import type { Sql } from './sql';

export interface EventId {
  source: string;
  id: string;
}

/**
 * The inbox: the set of (source, id) pairs ever applied. Written in the projection's own
 * transaction, so an event is either applied and remembered, or neither.
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
}

export const eventKey = (e: EventId): string => `${e.source}\u0000${e.id}`;

/** A total order on (source, id), the same in every writer (lock order, not a collation). */
export const byEventId = (a: EventId, b: EventId): number => (a.source < b.source ? -1 : a.source > b.source ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
