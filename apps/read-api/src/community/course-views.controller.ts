import { BadRequestException, Controller, Get, Inject, NotFoundException, Param, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { APP_CONFIG, AppConfig } from '@app/config';
import { JOIN_STATUSES } from '@app/domain';
import { avgCompletionRateOfSum, Course, CourseView, deriveCourseView, JoinStatus } from '@app/domain';
import { CourseMemberListRepository, CourseMemberRow, CourseMemberStats, CourseViewRepository, MemberOrdering } from '@app/persistence';
import { notModified, versionTag } from '../http/etag';
import { MethodNotAllowedException, OtherMethods } from '../http/method-not-allowed';
import { enumList, intInRange, positiveInt, QueryParams, searchText } from '../http/params';

const COURSE_FIELDS = [
  'name',
  'slug',
  'description',
  'type',
  'privacy',
  'enforce_lessons_order',
  'new_comment_notification_enabled',
  'hide_member_count',
  'meta_title',
  'meta_description',
  'og_title',
  'og_description',
  'og_image',
  'image_bigger',
  'image_big',
  'image_medium',
  'image_small',
] as const;

/** Course Dashboard (seed 001): exactly these fields, in this order. */
const DASHBOARD_FIELDS = [
  'id',
  'name',
  'slug',
  'type',
  'privacy',
  'hide_member_count',
  'meta_title',
  'meta_description',
  'og_title',
  'og_description',
  'og_image',
  'image_bigger',
  'image_big',
  'image_medium',
  'image_small',
  'deleted',
  'join_status',
  'user_completion_rate',
  'created_at',
  'created_by',
  'categories',
  'avg_completion_rate',
] as const;

/** The orderings the list accepts (their SQL in libs/persistence/src/read/member-list.query.ts). */
const ORDERINGS: Record<MemberOrdering, true> = { joined_at: true, '-joined_at': true, last_active_at: true, '-last_active_at': true };
const DEFAULT_STATUSES = ['manager', 'joined'];
const SEARCH_MAX = 200;
/** The query parameters of each view (api.md); anything else is a 400. */
export const COURSE_PARAMS = ['user', 'view'] as const;
export const MEMBER_LIST_PARAMS = ['statuses', 'search', 'ordering', 'limit', 'offset'] as const;

export interface CourseUserDashboardEntry {
  id: number;
  username: string | null;
  real_name: string | null;
  avatar: string | null;
  join_status: JoinStatus | null;
  user_completion_rate: number;
  last_active_at: string | null;
  joined_at: string | null;
}

interface TaggedVersions {
  deleted: boolean;
  stats: CourseMemberStats;
  /** The ETag of the representation this request asks for. */
  tag: (req: Request) => string;
}

export interface CourseUserDashboard {
  count: number;
  next: string | null;
  previous: string | null;
  results: CourseUserDashboardEntry[];
}

/**
 * The community platform's course views (api.md): Course User Detail, Course Dashboard and the
 * Course User Dashboard list. Course structure and the user's lesson counts are derived live
 * from the stored facts (`deriveCourseView`), the member list from `enrollments`, and counts and
 * averages from the per-course counters, so no request visits all of a course's members.
 *
 * Each view carries an ETag built from the course's versions (TaggedVersions), checked before
 * the view is built.
 */
@Controller('api/v2/course/:courseId')
export class CourseViewsController {
  constructor(
    private readonly views: CourseViewRepository,
    private readonly members: CourseMemberListRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  async course(@Param('courseId') courseIdRaw: string, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<object> {
    const courseId = this.courseId(courseIdRaw);
    const q = QueryParams.of(req, COURSE_PARAMS);
    const userId = positiveInt(q.single('user'), 'user');
    const view = q.single('view');
    if (view !== undefined && view !== 'dashboard') throw new BadRequestException('view must be "dashboard" or absent');

    const versions = await this.versions(courseId);
    if (versions && notModified(req, res, versions.tag(req))) return {};
    const v = await this.deriveView(courseId, userId);
    const base = this.courseFields(v);
    if (view === 'dashboard') {
      const stats = versions!.stats;
      const all: Record<string, unknown> = {
        ...base,
        join_status: v.join_status,
        user_completion_rate: v.user_completion_rate,
        avg_completion_rate: v.deleted ? 0 : avgCompletionRateOfSum(stats.rateSum.joined ?? 0, stats.members.joined ?? 0),
      };
      return Object.fromEntries(DASHBOARD_FIELDS.map((k) => [k, all[k]]));
    }
    return {
      ...base,
      sections_order: v.sections_order,
      sections: v.sections,
      join_status: v.join_status,
      num_lessons: v.num_lessons,
      num_sections: v.num_sections,
      num_lessons_completed: v.num_lessons_completed,
      user_completion_rate: v.user_completion_rate,
    };
  }

  @Get('users')
  async users(@Param('courseId') courseIdRaw: string, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<CourseUserDashboard | object> {
    const courseId = this.courseId(courseIdRaw);
    // api.md: statuses "comma-separated or repeated", the one repeatable parameter.
    const q = QueryParams.of(req, MEMBER_LIST_PARAMS, ['statuses']);
    const statusValues = q.all('statuses');
    const statuses = statusValues.length === 0 ? DEFAULT_STATUSES : enumList(statusValues, 'statuses', JOIN_STATUSES);
    const search = searchText(q.single('search'), 'search', SEARCH_MAX);
    const ordering = q.single('ordering') ?? '-joined_at';
    if (!Object.hasOwn(ORDERINGS, ordering)) throw new BadRequestException(`ordering must be one of ${Object.keys(ORDERINGS).join(', ')}`);
    const limit = intInRange(q.single('limit'), 'limit', 1, 1000, 20);
    const offset = intInRange(q.single('offset'), 'offset', 0, Number.MAX_SAFE_INTEGER, 0);

    const versions = await this.versions(courseId);
    if (!versions) throw new NotFoundException(`course ${courseId} not found`);
    if (notModified(req, res, versions.tag(req))) return {};
    if (versions.deleted) return { count: 0, next: null, previous: null, results: [] };

    const page = { courseId, statuses, ordering: ordering as MemberOrdering, limit, offset };
    let count: number;
    let rows: CourseMemberRow[];
    if (search === '') {
      count = statuses.reduce((n, s) => n + (versions.stats.members[s] ?? 0), 0);
      rows = await this.members.page(page, count);
    } else {
      ({ count, rows } = await this.members.search({ ...page, search }));
    }
    // Links carry the validated parameters only, on PUBLIC_URL or relative: never the Host header.
    const pageUrl = (o: number): string => {
      const link = new URLSearchParams({ statuses: statuses.join(',') });
      if (search !== '') link.set('search', search);
      link.set('ordering', ordering);
      link.set('limit', String(limit));
      link.set('offset', String(o));
      return `${this.config.api.publicUrl}/api/v2/course/${courseId}/users/?${link.toString()}`;
    };
    return {
      count,
      next: offset + limit < count ? pageUrl(offset + limit) : null,
      previous: offset > 0 ? pageUrl(Math.max(0, offset - limit)) : null,
      results: rows.map((r) => ({
        id: Number(r.user_id),
        username: r.username ?? null,
        real_name: r.real_name ?? null,
        avatar: r.avatar ?? null,
        join_status: r.join_status as JoinStatus | null,
        user_completion_rate: Number(r.user_completion_rate),
        last_active_at: r.last_active_at ?? null,
        joined_at: r.joined_at ?? null,
      })),
    };
  }

  /**
   * The course's versions (CourseViewRepository) and the ETag they make for this request.
   * Undefined for a course never seen. Links are built from PUBLIC_URL, not from the request's
   * Host, so the tag depends on the URL's path and query only.
   */
  private async versions(courseId: number): Promise<TaggedVersions | undefined> {
    const v = await this.views.versions(courseId);
    if (!v) return undefined;
    return {
      deleted: v.deleted,
      stats: v.stats,
      tag: (req) => versionTag('course-view/2', req.originalUrl ?? req.url, v.xmin, v.snapshot, v.generation, v.stats.derivations),
    };
  }

  private courseId(raw: string): number {
    return positiveInt(raw, 'course_id')!;
  }

  /** The view with the user's part only when the enrollment exists and is not deleted. */
  private async deriveView(courseId: number, userId: number | undefined): Promise<CourseView> {
    const { facts: f, member } = await this.views.viewFacts(courseId, userId);
    if (!f.course) throw new NotFoundException(`course ${courseId} not found`);
    return deriveCourseView(
      { courseId, course: f.course, lastUpsert: f.lastUpsert, sections: f.sections, lessons: f.lessons },
      member ? { userId: userId!, memberships: f.memberships, progress: f.progress } : undefined,
    );
  }

  private courseFields(v: CourseView): Record<string, unknown> {
    const c: Course | null = v.course;
    const out: Record<string, unknown> = { id: v.courseId };
    for (const k of COURSE_FIELDS) out[k] = c ? (c[k] ?? null) : null;
    out.deleted = v.deleted;
    out.created_at = c?.created_at ?? null;
    out.created_by = c?.created_by ?? null;
    out.categories = c?.categories ?? [];
    return out;
  }

  @OtherMethods('', 'users')
  otherMethods(@Req() req: Request): never {
    throw new MethodNotAllowedException(req.method);
  }
}
