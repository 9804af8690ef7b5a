import type { DataSource } from 'typeorm';

/**
 * Writers stamp `updated_at` before they commit, so a row can become visible behind a position
 * that a walk (or a client resuming from the last `updated_at` it saw) has already passed. A page
 * therefore stops short of the oldest write transaction still open in this schema, less a second
 * for clock skew between the workers and the database: what that transaction commits, and rows
 * stamped after it began, come on a later page or walk instead of being skipped. Writers are
 * found by `application_name` (applicationNameOf), which needs the API to connect as the
 * workers' role or one with pg_read_all_stats.
 *
 * Reading the backends' states costs more than a page itself, so it is read at most once per
 * `maxAgeMs`, shared by the requests meanwhile, as a bound that stays safe for that long: the
 * oldest writer open then, or the time of the reading if that is earlier (a writer that begins
 * later stamps rows after it). A page that this bound cuts short (rows past it exist) is served
 * again with the exact horizon read in its own statement (`EXACT_HORIZON_SQL`), so the head of a
 * walk shows a change as soon as no writer holds it back, as before.
 */
const WRITERS = `FROM pg_stat_get_activity(NULL) s
  WHERE s.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND s.backend_xid IS NOT NULL AND s.pid <> pg_backend_pid()
    AND split_part(s.application_name, '/', 1) = current_schema()`;

/** A `horizon(h)` row for a CTE: NULL when no writer is open (no limit). */
export const EXACT_HORIZON_SQL = `SELECT min(s.xact_start) - interval '1 second' AS h ${WRITERS}`;

const utc = (expr: string) => `to_char((${expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export class WriteHorizon {
  private cached: { readAtMs: number; horizon: string } | undefined;
  private reading: Promise<string> | undefined;

  constructor(
    private readonly ds: Pick<DataSource, 'query'>,
    private readonly maxAgeMs = 200,
  ) {}

  /** An RFC 3339 time that no open or later writer of this schema can stamp a row before. */
  async bound(): Promise<string> {
    const c = this.cached;
    if (c && performance.now() - c.readAtMs < this.maxAgeMs) return c.horizon;
    this.reading ??= this.read().finally(() => (this.reading = undefined));
    return this.reading;
  }

  private async read(): Promise<string> {
    const readAtMs = performance.now();
    const [{ h }] = await this.ds.query(
      `SELECT ${utc(`least(now(), (SELECT min(s.xact_start) ${WRITERS})) - interval '1 second'`)} AS h`,
    );
    this.cached = { readAtMs, horizon: h };
    return h;
  }
}
