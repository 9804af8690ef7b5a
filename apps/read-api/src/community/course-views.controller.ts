import { BadRequestException, Controller, Get, Inject, NotFoundException, Param, Req } from '@nestjs/common';
import type { Request } from 'express';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/config';
import { avgCompletionRate, Course, CourseView, deriveCourseView, JoinStatus } from '@app/domain';
import { FactRepository } from '@app/persistence';
import { enumList, intInRange, positiveInt, QueryParams, searchText } from '../http/params';

export const JOIN_STATUSES: readonly JoinStatus[] = ['creator', 'manager', 'joined', 'invited', 'requested'];

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

/**
 * Published times are canonical (UTC, fixed width, `YYYY-MM-DDTHH:MM:SS.mmmZ`), so byte order is
 * time order. They are compared as text on purpose: a cast to timestamptz fails on stored times
 * Postgres cannot represent (year 0000, which ingestion has accepted), and stored rows must list.
 */
const ORDERINGS: Record<string, string> = {
  joined_at: `e.state->>'enrolled_at' COLLATE "C" ASC NULLS LAST, e.user_id ASC`,
  '-joined_at': `e.state->>'enrolled_at' COLLATE "C" DESC NULLS LAST, e.user_id DESC`,
  last_active_at: `e.state->>'last_activity_at' COLLATE "C" ASC NULLS LAST, e.user_id ASC`,
  '-last_active_at': `e.state->>'last_activity_at' COLLATE "C" DESC NULLS LAST, e.user_id DESC`,
};
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

export interface CourseUserDashboard {
  count: number;
  next: string | null;
  previous: string | null;
  results: CourseUserDashboardEntry[];
}

const escapeLike = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * The community platform's course views (api.md): Course User Detail, Course Dashboard and the
 * Course User Dashboard list. Course structure and the user's lesson counts are derived live
 * from the stored facts (`deriveCourseView`), the member list and averages from `enrollments`.
 */
@Controller('api/v2/course/:courseId')
export class CourseViewsController {
  private readonly facts = new FactRepository();

  constructor(
    private readonly ds: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  async course(@Param('courseId') courseIdRaw: string, @Req() req: Request): Promise<object> {
    const courseId = this.courseId(courseIdRaw);
    const q = QueryParams.of(req, COURSE_PARAMS);
    const userId = positiveInt(q.single('user'), 'user');
    const view = q.single('view');
    if (view !== undefined && view !== 'dashboard') throw new BadRequestException('view must be "dashboard" or absent');

    const v = await this.deriveView(courseId, userId);
    const base = this.courseFields(v);
    if (view === 'dashboard') {
      const rates: { user_completion_rate: number }[] = v.deleted
        ? []
        : await this.ds.query(
            `SELECT user_completion_rate FROM enrollments WHERE course_id = $1 AND NOT deleted AND join_status = 'joined'`,
            [courseId],
          );
      const all: Record<string, unknown> = {
        ...base,
        join_status: v.join_status,
        user_completion_rate: v.user_completion_rate,
        avg_completion_rate: avgCompletionRate(rates.map((r) => Number(r.user_completion_rate))),
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
  async users(@Param('courseId') courseIdRaw: string, @Req() req: Request): Promise<CourseUserDashboard> {
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

    const [course] = await this.ds.query(`SELECT deleted FROM course_facts WHERE course_id = $1`, [courseId]);
    if (!course) throw new NotFoundException(`course ${courseId} not found`);
    if (course.deleted) return { count: 0, next: null, previous: null, results: [] };

    const params: unknown[] = [courseId, statuses];
    let filter = '';
    if (search !== '') {
      params.push(`%${escapeLike(search)}%`);
      filter = `AND (u.profile->>'username' ILIKE $3 ESCAPE '\\' OR u.profile->>'real_name' ILIKE $3 ESCAPE '\\')`;
    }
    const from = `FROM enrollments e LEFT JOIN user_facts u ON u.user_id = e.user_id AND NOT u.deleted
                  WHERE e.course_id = $1 AND NOT e.deleted AND e.join_status = ANY($2::text[]) ${filter}`;
    const [{ count }] = await this.ds.query(`SELECT count(*)::int AS count ${from}`, params);
    const rows: Record<string, unknown>[] = await this.ds.query(
      `SELECT e.user_id, u.profile->>'username' AS username, u.profile->>'real_name' AS real_name,
              u.profile->>'avatar' AS avatar, e.join_status, e.user_completion_rate,
              e.state->>'last_activity_at' AS last_active_at, e.state->>'enrolled_at' AS joined_at
       ${from} ORDER BY ${ORDERINGS[ordering]} LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, limit, offset],
    );
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
        username: (r.username as string | null) ?? null,
        real_name: (r.real_name as string | null) ?? null,
        avatar: (r.avatar as string | null) ?? null,
        join_status: r.join_status as JoinStatus | null,
        user_completion_rate: Number(r.user_completion_rate),
        last_active_at: (r.last_active_at as string | null) ?? null,
        joined_at: (r.joined_at as string | null) ?? null,
      })),
    };
  }

  private courseId(raw: string): number {
    return positiveInt(raw, 'course_id')!;
  }

  /** The view with the user's part only when the enrollment exists and is not deleted. */
  private async deriveView(courseId: number, userId: number | undefined): Promise<CourseView> {
    const loaded = await this.facts.loadEnrollmentFacts(this.ds, [{ courseId, userId: userId ?? 0 }]);
    const f = loaded.get(`${courseId}:${userId ?? 0}`)!;
    if (!f.course) throw new NotFoundException(`course ${courseId} not found`);
    let member = false;
    if (userId !== undefined) {
      const rows = await this.ds.query(`SELECT 1 FROM enrollments WHERE course_id = $1 AND user_id = $2 AND NOT deleted`, [courseId, userId]);
      member = rows.length > 0;
    }
    return deriveCourseView(
      { courseId, course: f.course, lastUpsert: f.lastUpsert, sections: f.sections, lessons: f.lessons },
      member ? { userId: userId!, memberships: f.memberships, progress: f.progress } : undefined,
    );
  }

  private courseFields(v: CourseView): Record<string, unknown> {
    const c: Course | null = v.course;
    const out: Record<string, unknown> = { id: v.courseId };
    for (const k of COURSE_FIELDS) out[k] = c ? c[k] ?? null : null;
    out.deleted = v.deleted;
    out.created_at = c?.created_at ?? null;
    out.created_by = c?.created_by ?? null;
    out.categories = c?.categories ?? [];
    return out;
  }
}
