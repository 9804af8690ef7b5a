import { BadRequestException, Controller, Get, Inject, NotFoundException, Param, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/config';
import { ENROLLMENT_STATUSES } from '@app/contracts';
import type { CourseEnrollment } from '@app/domain';
import { DateTimeFilter, enumList, intInRange, positiveInt, QueryParams, rfc3339 } from '../http/params';
import { notModified } from '../http/etag';
import { CursorCodec } from './cursor';
import { EXACT_HORIZON_SQL, WriteHorizon } from './write-horizon';

const RANGE_OPS = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;
const RANGE_PARAMS = (Object.keys(RANGE_OPS) as RangeOp[]).map((op) => `updated_at[${op}]`);
/** Every query parameter of the list (api.md); anything else is a 400. */
export const LIST_PARAMS = ['course_id', 'user_id', 'status', ...RANGE_PARAMS, 'limit', 'next_cursor'] as const;

type RangeOp = keyof typeof RANGE_OPS;

export interface CourseEnrollmentsPage {
  result: CourseEnrollment[];
  next_cursor: string | null;
}

/** The unified LMS dialect: CourseEnrollments with keyset paging on (updated_at, id). */
@Controller('unified/lms/course-enrollments')
export class CourseEnrollmentsController {
  private readonly cursors: CursorCodec;
  private readonly horizon: WriteHorizon;

  constructor(
    private readonly ds: DataSource,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.cursors = new CursorCodec(config.api.tokens);
    this.horizon = new WriteHorizon(ds);
  }

  @Get()
  async list(@Req() req: Request): Promise<CourseEnrollmentsPage> {
    const q = QueryParams.of(req, LIST_PARAMS);
    const courseId = positiveInt(q.single('course_id'), 'course_id');
    const userId = positiveInt(q.single('user_id'), 'user_id');
    const status = q.single('status');
    const statuses = status === undefined ? undefined : enumList([status], 'status', ENROLLMENT_STATUSES).sort();
    const ranges: [RangeOp, DateTimeFilter][] = [];
    for (const op of Object.keys(RANGE_OPS) as RangeOp[]) {
      const v = q.single(`updated_at[${op}]`);
      if (v !== undefined) ranges.push([op, rfc3339(v, `updated_at[${op}]`)]);
    }
    const limit = intInRange(q.single('limit'), 'limit', 1, 1000, 100);
    // The filters as the client wrote them, so that cursors issued before stay valid.
    const fingerprint = CursorCodec.fingerprint({ courseId, userId, statuses, ranges: ranges.map(([op, v]) => [op, v.given]) });
    const cursorRaw = q.single('next_cursor');
    const after = cursorRaw === undefined ? undefined : this.cursors.decode(cursorRaw, fingerprint);

    const filters: ListFilters = { courseId, userId, statuses, ranges, after };
    // Served under the shared horizon bound; only a page that the bound cut short (rows past it
    // exist) is read again under the exact horizon (see WriteHorizon).
    const bound = await this.horizon.bound();
    let rows: { id: string; u: string; state: CourseEnrollment }[] = await this.ds.query(...pageQuery(filters, limit, bound));
    if (rows.length <= limit) {
      const [{ more }] = await this.ds.query(...pastBoundQuery(filters, bound));
      if (more) rows = await this.ds.query(...pageQuery(filters, limit, 'exact'));
    }
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      result: page.map((r) => r.state),
      next_cursor: rows.length > limit ? this.cursors.encode({ u: last.u, i: last.id }, fingerprint) : null,
    };
  }

  @Get(':id')
  async one(@Param('id') id: string, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<CourseEnrollment | object> {
    QueryParams.of(req, []);
    if (!/^[1-9]\d{0,15}:[1-9]\d{0,15}$/.test(id)) {
      throw new BadRequestException('id must be "{course_id}:{user_id}" with positive integers');
    }
    // The version names the representation: a client that has it gets 304 without the state
    // being read out of the row.
    const known = /^"v(\d{1,10})"$/.exec(req.get('if-none-match') ?? '')?.[1] ?? null;
    const rows: { version: number; state: CourseEnrollment | null }[] = await this.ds.query(
      `SELECT version, CASE WHEN version::text = $2 THEN NULL ELSE state END AS state FROM enrollments WHERE id = $1 AND NOT deleted`,
      [id, known],
    );
    if (rows.length === 0) throw new NotFoundException(`course enrollment ${id} not found`);
    if (notModified(req, res, `"v${rows[0].version}"`)) return {};
    if (rows[0].state !== null) return rows[0].state;
    const [again]: { state: CourseEnrollment }[] = await this.ds.query(`SELECT state FROM enrollments WHERE id = $1 AND NOT deleted`, [id]);
    if (!again) throw new NotFoundException(`course enrollment ${id} not found`);
    return again.state;
  }
}

interface ListFilters {
  courseId?: number;
  userId?: number;
  statuses?: string[];
  ranges: [RangeOp, DateTimeFilter][];
  after?: { u: string; i: string };
}

type Query = [string, unknown[]];

function conditions(f: ListFilters, p: (v: unknown) => string): string[] {
  const where = ['NOT deleted'];
  if (f.courseId !== undefined) where.push(`course_id = ${p(f.courseId)}::bigint`);
  if (f.userId !== undefined) where.push(`user_id = ${p(f.userId)}::bigint`);
  for (const [op, v] of f.ranges) where.push(`updated_at ${RANGE_OPS[op]} ${p(v.sql)}::timestamptz`);
  if (f.after) where.push(`(updated_at, id) > (${p(f.after.u)}::timestamptz, ${p(f.after.i)}::text)`);
  return where;
}

/**
 * One page in (updated_at, id) order. Filtered by course (and not by user), it is the merge of
 * one ordered range of `enrollments_course_paging_idx` per status, so its cost is the page's,
 * not the course's; unfiltered it walks `enrollments_paging_idx`; a user's few enrollments are
 * sorted. `horizon` is a bound from WriteHorizon or 'exact' (read in the same statement).
 */
function pageQuery(f: ListFilters, limit: number, horizon: string): Query {
  const params: unknown[] = [];
  const p = (v: unknown): string => {
    params.push(v);
    return `$${params.length}`;
  };
  const where = conditions(f, p);
  where.push(horizon === 'exact' ? `(horizon.h IS NULL OR updated_at < horizon.h)` : `updated_at < ${p(horizon)}::timestamptz`);
  const from = horizon === 'exact' ? 'enrollments, horizon' : 'enrollments';
  const perStatus = f.courseId !== undefined && f.userId === undefined;
  const statuses = perStatus ? f.statuses ?? [...ENROLLMENT_STATUSES] : undefined;
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
function pastBoundQuery(f: ListFilters, bound: string): Query {
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
