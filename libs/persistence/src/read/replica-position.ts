/**
 * When a page may come from the read database (DATABASE_READ_URL) rather than the primary: only
 * once it has replayed the primary's WAL up to the position taken with the write horizon. Every
 * transaction that had committed on the primary by then is in that WAL, so a replica past it
 * holds every row below the horizon that the primary holds, and the page is the primary's.
 * Pure functions: the decision is tested without a replica.
 */

/** A `pg_lsn` ("16/B374D848") as a number of bytes; undefined when it is not one. */
export function lsnValue(lsn: string | null | undefined): bigint | undefined {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn ?? '');
  return m ? (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`) : undefined;
}

/** What the read database says about itself (readerPositionSql). */
export interface ReaderPosition {
  /** `pg_is_in_recovery()`: a standby replaying a primary's WAL. */
  inRecovery: boolean;
  /** A standby's `pg_last_wal_replay_lsn()`; a server not in recovery has none. */
  replayLsn: string | null;
  /** A server not in recovery's `pg_current_wal_lsn()` (DATABASE_READ_URL naming the primary itself). */
  currentLsn: string | null;
}

/**
 * Whether the reader has everything the primary had committed at `primaryLsn`. A standby: its
 * replay position at or past it. A server not in recovery can only be the primary itself (the
 * documented deployments: a streaming replica or the same server), whose own position is then
 * past it. Anything unreadable means no, and the page is read from the primary.
 */
export function readerHasReplayed(primaryLsn: string, at: ReaderPosition): boolean {
  return lsnAtLeast(readerReached(at), primaryLsn);
}

/** How far the reader has the primary's WAL: a standby's replay position, else its own. */
export function readerReached(at: ReaderPosition): string | null {
  return at.inRecovery ? at.replayLsn : at.currentLsn;
}

/** Whether position `reached` is at or past `needed`; false when either is unreadable. */
export function lsnAtLeast(reached: string | null | undefined, needed: string): boolean {
  const r = lsnValue(reached);
  const n = lsnValue(needed);
  return r !== undefined && n !== undefined && r >= n;
}

/** The later of two positions (a replica only moves forward); undefined ones are ignored. */
export function laterLsn(a: string | undefined, b: string | undefined): string | undefined {
  const va = lsnValue(a);
  const vb = lsnValue(b);
  if (va === undefined) return vb === undefined ? undefined : b;
  if (vb === undefined) return a;
  return vb > va ? b : a;
}

/** One row: the reader's ReaderPosition (`pg_current_wal_lsn()` fails during recovery, hence the CASE). */
export const READER_POSITION_SQL = `SELECT pg_is_in_recovery() AS "inRecovery",
  pg_last_wal_replay_lsn()::text AS "replayLsn",
  CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END AS "currentLsn"`;
