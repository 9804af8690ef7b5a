import { BadRequestException, Controller, Get, Inject, NotFoundException, Param, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { APP_CONFIG, AppConfig } from '@app/config';
import { ENROLLMENT_STATUSES } from '@app/contracts';
import type { CourseEnrollment } from '@app/domain';
import { EnrollmentListRepository, RANGE_OPS, RangeOp } from '@app/persistence';
import { DateTimeFilter, enumList, intInRange, positiveInt, QueryParams, rfc3339 } from '../http/params';
import { notModified } from '../http/etag';
import { MethodNotAllowedException, OtherMethods } from '../http/method-not-allowed';
import { CursorCodec } from './cursor';

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
    private readonly enrollments: EnrollmentListRepository,
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

    const rows = await this.enrollments.page({ courseId, userId, statuses, ranges: ranges.map(([op, v]) => [op, v.sql]), after }, limit);
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
    const row = await this.enrollments.versionAndState(id, known);
    if (!row) throw new NotFoundException(`course enrollment ${id} not found`);
    if (notModified(req, res, `"v${row.version}"`)) return {};
    if (row.state !== null) return row.state;
    // The row moved past the client's version since: the state it has now.
    const again = await this.enrollments.state(id);
    if (!again) throw new NotFoundException(`course enrollment ${id} not found`);
    return again;
  }

  @OtherMethods('', ':id')
  otherMethods(@Req() req: Request): never {
    throw new MethodNotAllowedException(req.method);
  }
}
