import { Injectable } from '@nestjs/common';
import { ReadDatabases } from './read-databases';
import { laterLsn, lsnAtLeast, READER_POSITION_SQL, ReaderPosition, readerHasReplayed, readerReached } from './replica-position';

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
 * BOUND_MAX_AGE_MS, shared by the requests meanwhile, as a bound that stays safe for that long: the
 * oldest writer open then, or the time of the reading if that is earlier (a writer that begins
 * later stamps rows after it). A page that this bound cuts short (rows past it exist) is served
 * again with the exact horizon read in its own statement (`EXACT_HORIZON_SQL`), so the head of a
 * walk shows a change as soon as no writer holds it back, as before.
 *
 * The writers run on the primary, so the horizon is read there (DATABASE_URL), with the primary's
 * WAL insert position at the same instant. A read database of its own (DATABASE_READ_URL) serves
 * a page under that horizon only once it has replayed up to that position (readerHasReplayed);
 * until then the page is read from the primary. The exact horizon is only known on the primary,
 * so a page read again under it is always read there.
 */
const WRITERS = `FROM pg_stat_get_activity(NULL) s
  WHERE s.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND s.backend_xid IS NOT NULL AND s.pid <> pg_backend_pid()
    AND split_part(s.application_name, '/', 1) = current_schema()`;

/** A `horizon(h)` row for a CTE: NULL when no writer is open (no limit). */
export const EXACT_HORIZON_SQL = `SELECT min(s.xact_start) - interval '1 second' AS h ${WRITERS}`;

/** How long a bound is shared: short, since the head of a walk waits for it to move on. */
const BOUND_MAX_AGE_MS = 200;

const utc = (expr: string) => `to_char((${expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** A bound of the write horizon and the primary's WAL position when it was read. */
export interface HorizonBound {
  /** RFC 3339 time that no open or later writer of this schema can stamp a row before. */
  at: string;
  /** `pg_current_wal_insert_lsn()` at that moment: every commit visible then is before it. */
  lsn: string;
}

@Injectable()
export class WriteHorizonRepository {
  private cached: { readAtMs: number; bound: HorizonBound } | undefined;
  private reading: Promise<HorizonBound> | undefined;
  /** The furthest the reader has been seen to have replayed: positions only move forward. */
  private readerReached: string | undefined;

  constructor(private readonly dbs: ReadDatabases) {}

  /** The shared bound, read on the primary at most once per BOUND_MAX_AGE_MS. */
  async bound(): Promise<HorizonBound> {
    const c = this.cached;
    if (c && performance.now() - c.readAtMs < BOUND_MAX_AGE_MS) return c.bound;
    this.reading ??= this.read().finally(() => (this.reading = undefined));
    return this.reading;
  }

  /**
   * Whether the read database holds every row below `bound` that the primary does. Without a read
   * database of its own there is nothing to wait for; otherwise its position is asked only until
   * it has been seen past the bound's.
   */
  async readerServes(bound: HorizonBound): Promise<boolean> {
    if (!this.dbs.separate) return true;
    if (lsnAtLeast(this.readerReached, bound.lsn)) return true;
    const [at]: ReaderPosition[] = await this.dbs.reader.query(READER_POSITION_SQL);
    if (!at) return false;
    this.readerReached = laterLsn(this.readerReached, readerReached(at) ?? undefined);
    return readerHasReplayed(bound.lsn, at);
  }

  private async read(): Promise<HorizonBound> {
    const readAtMs = performance.now();
    const [bound]: HorizonBound[] = await this.dbs.primary.query(
      `SELECT ${utc(`least(now(), (SELECT min(s.xact_start) ${WRITERS})) - interval '1 second'`)} AS at,
              pg_current_wal_insert_lsn()::text AS lsn`,
    );
    this.cached = { readAtMs, bound };
    return bound;
  }
}
