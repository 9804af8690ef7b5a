import { BadRequestException, Controller, Get, Inject, NotFoundException, Param, Req } from '@nestjs/common';
import type { Request } from 'express';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/config';
import { ENROLLMENT_STATUSES } from '@app/contracts';
import type { CourseEnrollment } from '@app/domain';
import { DateTimeFilter, enumList, intInRange, positiveInt, QueryParams, rfc3339 } from '../http/params';
import { CursorCodec } from './cursor';

const RANGE_OPS = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

/**
 * Writers stamp `updated_at` before they commit, so a row can become visible behind a position
 * that a walk (or a client resuming from the last `updated_at` it saw) has already passed. A page
 * therefore stops short of the oldest write transaction still open in this schema, less a second
 * for clock skew between the workers and the database: what that transaction commits, and rows
 * stamped after it began, come on a later page or walk instead of being skipped. With no writer
 * open there is no limit. Writers are found by `application_name` (applicationNameOf), which
 * needs the API to connect as the workers' role or one with pg_read_all_stats.
 */
const WRITE_HORIZON = `SELECT min(xact_start) - interval '1 second' AS h FROM pg_stat_activity
  WHERE datname = current_database() AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()
    AND split_part(application_name, '/', 1) = current_schema()`;
type RangeOp = keyof typeof RANGE_OPS;
const RANGE_PARAMS = (Object.keys(RANGE_OPS) as RangeOp[]).map((op) => `updated_at[${op}]`);
/** Every query parameter of the list (api.md); anything else is a 400. */
export const LIST_PARAMS = ['course_id', 'user_id', 'status', ...RANGE_PARAMS, 'limit', 'next_cursor'] as const;

export interface CourseEnrollmentsPage {
  result: CourseEnrollment[];
  next_cursor: string | null;
}

/** The unified LMS dialect: CourseEnrollments with keyset paging on (updated_at, id). */
@Controller('unified/lms/course-enrollments')
export class CourseEnrollmentsController {
  private readonly cursors: CursorCodec;

  constructor(
    private readonly ds: DataSource,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.cursors = new CursorCodec(config.api.tokens);
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

    const where = ['NOT deleted'];
    const params: unknown[] = [];
    const p = (v: unknown): string => {
      params.push(v);
      return `$${params.length}`;
    };
    if (courseId !== undefined) where.push(`course_id = ${p(courseId)}::bigint`);
    if (userId !== undefined) where.push(`user_id = ${p(userId)}::bigint`);
    if (statuses !== undefined) where.push(`status = ANY(${p(statuses)}::text[])`);
    for (const [op, v] of ranges) where.push(`updated_at ${RANGE_OPS[op]} ${p(v.sql)}::timestamptz`);
    if (after) where.push(`(updated_at, id) > (${p(after.u)}::timestamptz, ${p(after.i)}::text)`);

    const rows: { id: string; u: string; state: CourseEnrollment }[] = await this.ds.query(
      `WITH horizon AS (${WRITE_HORIZON})
       SELECT id, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS u, state
       FROM enrollments, horizon WHERE ${where.join(' AND ')} AND (horizon.h IS NULL OR updated_at < horizon.h)
       ORDER BY updated_at, id LIMIT ${p(limit + 1)}::int`,
      params,
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      result: page.map((r) => r.state),
      next_cursor: rows.length > limit ? this.cursors.encode({ u: last.u, i: last.id }, fingerprint) : null,
    };
  }

  @Get(':id')
  async one(@Param('id') id: string, @Req() req: Request): Promise<CourseEnrollment> {
    QueryParams.of(req, []);
    if (!/^[1-9]\d{0,15}:[1-9]\d{0,15}$/.test(id)) {
      throw new BadRequestException('id must be "{course_id}:{user_id}" with positive integers');
    }
    const rows: { state: CourseEnrollment }[] = await this.ds.query(
      `SELECT state FROM enrollments WHERE id = $1 AND NOT deleted`,
      [id],
    );
    if (rows.length === 0) throw new NotFoundException(`course enrollment ${id} not found`);
    return rows[0].state;
  }
}
