import { Injectable } from '@nestjs/common';
import { ENROLLMENT_STATUSES } from '@app/contracts';
import type { CourseEnrollment } from '@app/domain';
import { ReadDatabases } from './read-databases';
import { EXACT_HORIZON_SQL, WriteHorizonRepository } from './write-horizon.repository';

/** The `updated_at[op]` filters of the list and their SQL operators. */
export const RANGE_OPS = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;
export type RangeOp = keyof typeof RANGE_OPS;

export interface EnrollmentListFilters {
  courseId?: number;
  userId?: number;
  statuses?: string[];
  /** Each an operator and a timestamp Postgres reads as `timestamptz`. */
  ranges: [RangeOp, string][];
  /** The keyset position to continue after (the cursor's `updated_at` and id). */
  after?: { u: string; i: string };
}

/** A page row: the state and its keyset position. */
export interface EnrollmentListRow {
  id: string;
  u: string;
  state: CourseEnrollment;
}

/**
 * The unified CourseEnrollments list and single reads, on the read database (ReadDatabases),
 * behind the write horizon (WriteHorizonRepository).
 */
@Injectable()
export class EnrollmentListRepository {
  constructor(
    private readonly dbs: ReadDatabases,
    private readonly horizon: WriteHorizonRepository,
  ) {}

  /**
   * Up to `limit + 1` rows in (updated_at, id) order (one more than the page says whether there
   * is a next). Served under the shared horizon bound, from the read database once it has
   * replayed past the bound, else from the primary; only a page that the bound cut short (rows
   * past it exist) is read again under the exact horizon, which only the primary knows.
   */
  async page(filters: EnrollmentListFilters, limit: number): Promise<EnrollmentListRow[]> {
    const bound = await this.horizon.bound();
    const db = (await this.horizon.readerServes(bound)) ? this.dbs.reader : this.dbs.primary;
    const rows: EnrollmentListRow[] = await db.query(...pageQuery(filters, limit, bound.at));
    if (rows.length > limit) return rows;
    const [{ more }]: { more: boolean }[] = await db.query(...pastBoundQuery(filters, bound.at));
    if (!more) return rows;
    const exact: EnrollmentListRow[] = await this.dbs.primary.query(...pageQuery(filters, limit, 'exact'));
    return exact;
  }

  /**
   * One live enrollment's version, and its state unless that version is `knownVersion` (the
   * client's ETag), so a 304 never reads the state out of the row. Undefined when absent.
   */
  async versionAndState(id: string, knownVersion: string | null): Promise<{ version: number; state: CourseEnrollment | null } | undefined> {
    const [row]: { version: number; state: CourseEnrollment | null }[] = await this.dbs.reader.query(
      `SELECT version, CASE WHEN version::text = $2 THEN NULL ELSE state END AS state FROM enrollments WHERE id = $1 AND NOT deleted`,
      [id, knownVersion],
    );
    return row;
  }

  /** One live enrollment's state; undefined when absent. */
  async state(id: string): Promise<CourseEnrollment | undefined> {
    const [row]: { state: CourseEnrollment }[] = await this.dbs.reader.query(`SELECT state FROM enrollments WHERE id = $1 AND NOT deleted`, [id]);
    return row?.state;
  }
}

type Query = [string, unknown[]];

function conditions(f: EnrollmentListFilters, p: (v: unknown) => string): string[] {
  const where = ['NOT deleted'];
  if (f.courseId !== undefined) where.push(`course_id = ${p(f.courseId)}::bigint`);
  if (f.userId !== undefined) where.push(`user_id = ${p(f.userId)}::bigint`);
  for (const [op, v] of f.ranges) where.push(`updated_at ${RANGE_OPS[op]} ${p(v)}::timestamptz`);
  if (f.after) where.push(`(updated_at, id) > (${p(f.after.u)}::timestamptz, ${p(f.after.i)}::text)`);
  return where;
}

/**
 * One page in (updated_at, id) order. Filtered by course (and not by user), it is the merge of
 * one ordered range of `enrollments_course_paging_idx` per status, so its cost is the page's,
 * not the course's; unfiltered it walks `enrollments_paging_idx`; a user's few enrollments are
 * sorted. `horizon` is a bound from WriteHorizonRepository or 'exact' (read in the same statement).
 */
function pageQuery(f: EnrollmentListFilters, limit: number, horizon: string): Query {
  const params: unknown[] = [];
  const p = (v: unknown): string => {
    params.push(v);
    return `$${params.length}`;
  };
  const where = conditions(f, p);
  where.push(horizon === 'exact' ? `(horizon.h IS NULL OR updated_at < horizon.h)` : `updated_at < ${p(horizon)}::timestamptz`);
  const from = horizon === 'exact' ? 'enrollments, horizon' : 'enrollments';
  const perStatus = f.courseId !== undefined && f.userId === undefined;
  const statuses = perStatus ? (f.statuses ?? [...ENROLLMENT_STATUSES]) : undefined;
  const n = p(limit + 1);
  // Each status's range ordered and limited on its own, so Postgres merges them (Merge Append).
  const source = statuses
    ? statuses
        .map((s) => `(SELECT id, updated_at, state FROM ${from} WHERE ${[...where, `status = ${p(s)}`].join(' AND ')} ORDER BY updated_at, id LIMIT ${n}::int)`)
        .join(' UNION ALL ')
    : `SELECT id, updated_at, state FROM ${from} WHERE ${[...where, ...(f.statuses ? [`status = ANY(${p(f.statuses)}::text[])`] : [])].join(' AND ')}`;
  return [
    `${horizon === 'exact' ? `WITH horizon AS (${EXACT_HORIZON_SQL}) ` : ''}
     SELECT id, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS u, state
     FROM (${source}) m ORDER BY updated_at, id LIMIT ${n}::int`,
    params,
  ];
}

/** Whether any matching row lies at or past the bound (then the exact horizon decides). */
function pastBoundQuery(f: EnrollmentListFilters, bound: string): Query {
  const params: unknown[] = [];
  const p = (v: unknown): string => {
    params.push(v);
    return `$${params.length}`;
  };
  const where = conditions(f, p);
  if (f.statuses) where.push(`status = ANY(${p(f.statuses)}::text[])`);
  where.push(`updated_at >= ${p(bound)}::timestamptz`);
  return [`SELECT EXISTS (SELECT 1 FROM enrollments WHERE ${where.join(' AND ')}) AS more`, params];
}
