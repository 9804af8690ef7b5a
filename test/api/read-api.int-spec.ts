/**
 * The read API (api.md) against a real Postgres: the schema is migrated into a throwaway schema,
 * seeded through the real input path (workload builders → decodeMessage → InputApplier), and the
 * app is booted as ReadApiModule and called over HTTP.
 */
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '@app/config';
import { decodeMessage, InputEvent } from '@app/contracts';
import type { CourseEnrollment } from '@app/domain';
import { createDataSource, migrateUp } from '@app/persistence';
import { createProjection, InputApplier } from '@app/projection';
import { clock, events, InputMessage } from '@app/workload';
import { ReadApiModule } from '../../apps/read-api/src/read-api.module';
import { CursorCodec } from '../../apps/read-api/src/unified/cursor';
import { isolatedConfig } from '../support/isolation';
import { sourceSchemaProblems } from '../support/source-schemas';

const TOKEN = 'a'.repeat(32);
const C1 = 101; // 4 published lessons in 2 sections, 1 draft, 25 members
const C2 = 102; // 2 lessons, 10 members
const C3 = 103; // deleted
const USERS = 30;

const ENROLLMENT_KEYS = [
  'id',
  'user',
  'course',
  'status',
  'assigned_at',
  'due_at',
  'enrolled_at',
  'started_at',
  'last_activity_at',
  'completed_at',
  'progress_percent',
  'time_spent_seconds',
  'score',
  'attempt_number',
  'attempts_count',
  'is_mandatory',
  'assigned_by',
  'urls',
  'created_at',
  'updated_at',
  'custom_fields',
  'remote_data',
].sort();
const COURSE_KEYS = [
  'id',
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
  'deleted',
  'created_at',
  'created_by',
  'categories',
];

/** Course Dashboard: exactly the fields of the source document (seed 001), in its order. */
const DASHBOARD_KEYS = [
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
];

type Json = any;
type Page = { result: CourseEnrollment[]; next_cursor: string | null };

describe('read API on a real Postgres', () => {
  // This suite sends wrong tokens on purpose; the failed-authentication limit has its own suite.
  const config = isolatedConfig({ API_TOKENS: TOKEN, AUTH_FAILURE_LIMIT: '0' });
  let ds: DataSource;
  let app: INestApplication;
  let base: string;
  let applier: InputApplier;
  const tick = clock('2026-11-01T09:00:00.000Z');
  let seq = 0;
  const o = () => ({ time: tick(), id: `evt-${++seq}` });

  async function apply(msgs: InputMessage[]): Promise<void> {
    const decoded: InputEvent[] = msgs.map((m) => {
      const r = decodeMessage({ topic: config.topics[m.topic], key: Buffer.from(m.key), value: Buffer.from(m.value) }, config.topics);
      if (!r.ok) throw new Error(r.reason);
      return r.event;
    });
    await applier.apply(decoded);
  }

  const get = (path: string, token: string | null = TOKEN, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { headers: token === null ? headers : { authorization: `Bearer ${token}`, ...headers } });
  /** Every object a view returns, checked against the source document it comes from (seeds). */
  const sourceProblems = (path: string, body: Json): string[] => {
    const [route, query = ''] = path.split('?');
    if (/^\/unified\/lms\/course-enrollments\/[^/]+$/.test(route)) return sourceSchemaProblems('CourseEnrollments', body);
    if (/^\/unified\/lms\/course-enrollments\/?$/.test(route)) return body.result.flatMap((e: Json) => sourceSchemaProblems('CourseEnrollments', e));
    if (/^\/api\/v2\/course\/\d+\/users\/?$/.test(route)) return body.results.flatMap((e: Json) => sourceSchemaProblems('CourseUserDashboardEntry', e));
    if (/^\/api\/v2\/course\/\d+\/?$/.test(route)) {
      return sourceSchemaProblems(new URLSearchParams(query).get('view') === 'dashboard' ? 'CourseDashboard' : 'CourseUserDetail', body);
    }
    return [];
  };
  const getJson = async <T = Json>(path: string, status = 200): Promise<T> => {
    const res = await get(path);
    const body = await res.json();
    if (res.status !== status) throw new Error(`${path}: expected ${status}, got ${res.status} ${JSON.stringify(body)}`);
    if (status === 200) expect({ path, problems: sourceProblems(path, body) }).toEqual({ path, problems: [] });
    return body as T;
  };
  const expectError = async (path: string, status: number, mentions?: string) => {
    const res = await get(path);
    const body: Json = await res.json();
    expect({ path, status: res.status }).toEqual({ path, status });
    expect(Object.keys(body).sort()).toEqual(['error', 'message', 'statusCode']);
    expect(body.statusCode).toBe(status);
    if (mentions) expect(body.message).toContain(mentions);
  };
  const walk = async (query: string, between?: (page: number) => Promise<void>): Promise<CourseEnrollment[]> => {
    const out: CourseEnrollment[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 1000; page++) {
      const sep = query ? '&' : '';
      const p: Page = await getJson(`/unified/lms/course-enrollments?${query}${cursor ? `${sep}next_cursor=${encodeURIComponent(cursor)}` : ''}`);
      out.push(...p.result);
      if (!p.next_cursor) return out;
      cursor = p.next_cursor;
      if (between) await between(page);
    }
    throw new Error('paging did not end');
  };
  const liveIds = async (): Promise<string[]> => (await ds.query(`SELECT id FROM enrollments WHERE NOT deleted ORDER BY id`)).map((r: { id: string }) => r.id);

  beforeAll(async () => {
    ds = await createDataSource(config.database).initialize();
    await migrateUp(ds, config.database.schema);
    applier = createProjection(ds, config.courseUrlTemplate).applier;

    // Structure first (course-wide recompute is not running here), then people, then progress.
    await apply([
      events.courseUpserted({ id: C1, name: 'Course One', slug: 'course-one' }, o()),
      events.sectionUpserted(C1, { id: 12, name: 'Second', position: 2 }, o()),
      events.sectionUpserted(C1, { id: 11, name: 'First', position: 1 }, o()),
      ...[1, 2, 3].map((i) => events.lessonUpserted(C1, { id: 1000 + i, section_id: 11, name: `L${i}`, status: 'published', position: i }, o())),
      events.lessonUpserted(C1, { id: 1004, section_id: 12, name: 'L4', status: 'published', position: 1 }, o()),
      events.lessonUpserted(C1, { id: 1005, section_id: 12, name: 'draft', status: 'draft', position: 2 }, o()),
      events.courseUpserted({ id: C2, name: 'Course Two' }, o()),
      events.sectionUpserted(C2, { id: 21, name: 'Only', position: 1 }, o()),
      events.lessonUpserted(C2, { id: 2001, section_id: 21, name: 'A', status: 'published', position: 1 }, o()),
      events.lessonUpserted(C2, { id: 2002, section_id: 21, name: 'B', status: 'published', position: 2 }, o()),
      events.courseUpserted({ id: C3, name: 'Course Three', slug: 'course-three', privacy: 'open' }, o()),
    ]);
    await apply([events.courseDeleted(C3, o())]);
    const users: InputMessage[] = [];
    for (let u = 1; u <= USERS; u++) {
      users.push(
        events.userUpserted(
          {
            id: u,
            username: u === 8 ? 'zoe_u' : `user${u}`,
            real_name: u === 7 ? 'Per 100% Sure' : u === 8 ? 'Zoë Under' : `Real Name ${u}`,
            avatar: `https://img.example/${u}.png`,
            emails: [{ email: `u${u}@example.com`, type: 'work', is_primary: true }],
          },
          o(),
        ),
      );
    }
    await apply(users);
    const members: InputMessage[] = [];
    for (let u = 1; u <= 25; u++) {
      const join_status = u === 1 ? 'manager' : u === 2 ? 'invited' : u === 3 ? 'requested' : 'joined';
      members.push(events.membershipChanged({ course_id: C1, user_id: u, join_status }, o()));
    }
    for (let u = 1; u <= 10; u++) members.push(events.membershipChanged({ course_id: C2, user_id: u, join_status: 'joined' }, o()));
    await apply(members);
    // user u completes (u mod 5) of C1's lessons; users 1..5 complete lesson 2001 of C2.
    const progress: InputMessage[] = [];
    for (let u = 1; u <= 25; u++) {
      for (let l = 1; l <= u % 5; l++) progress.push(events.lessonCompleted({ course_id: C1, user_id: u, lesson_id: 1000 + l, time_spent_seconds: 60 }, o()));
    }
    for (let u = 1; u <= 5; u++) progress.push(events.lessonCompleted({ course_id: C2, user_id: u, lesson_id: 2001 }, o()));
    await apply(progress);
    // user 30 joins C2 and is erased: their enrollment is deleted.
    await apply([events.membershipChanged({ course_id: C2, user_id: 30, join_status: 'joined' }, o())]);
    await apply([events.userDeleted(30, o())]);

    const moduleRef = await Test.createTestingModule({ imports: [ReadApiModule] })
      .overrideProvider(APP_CONFIG)
      .useValue(config)
      .compile();
    app = moduleRef.createNestApplication();
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await app?.close();
    await ds?.query(`DROP SCHEMA IF EXISTS "${config.database.schema}" CASCADE`);
    await ds?.destroy();
  });

  describe('auth and errors', () => {
    it('answers 401 JSON without a token, with a wrong one, or with a malformed header', async () => {
      for (const [token, headers] of [
        [null, {}],
        ['b'.repeat(32), {}],
        [TOKEN.slice(1), {}],
        [null, { authorization: TOKEN }],
        [null, { authorization: `Basic ${TOKEN}` }],
      ] as [string | null, Record<string, string>][]) {
        for (const path of ['/unified/lms/course-enrollments', `/unified/lms/course-enrollments/${C1}:4`, `/api/v2/course/${C1}/`, `/api/v2/course/${C1}/users/`]) {
          const res = await get(path, token, headers);
          expect({ path, token, status: res.status }).toEqual({ path, token, status: 401 });
          expect(await res.json()).toEqual({ statusCode: 401, error: 'Unauthorized', message: expect.any(String) });
        }
      }
    });

    it('answers unknown routes with the same JSON error shape', async () => {
      await expectError('/no/such/route', 404);
    });

    it('leaves health and metrics open', async () => {
      expect((await get('/health/live', null)).status).toBe(200);
      expect((await get('/metrics', null)).status).toBe(200);
    });
  });

  describe('unified CourseEnrollments', () => {
    it('returns each enrollment equal to the course_enrollment of its last outbox event', async () => {
      const latest: { enrollment_id: string; event: { type: string; data: { course_enrollment: CourseEnrollment } } }[] = await ds.query(
        `SELECT DISTINCT ON (enrollment_id) enrollment_id, event FROM outbox ORDER BY enrollment_id, version DESC`,
      );
      const live = latest.filter((r) => r.event.type !== 'lms.course_enrollment.deleted');
      expect(live.length).toBe(35);
      const listed = await walk('limit=1000');
      expect(listed.map((e) => e.id).sort()).toEqual(live.map((r) => r.enrollment_id).sort());
      const byId = new Map(listed.map((e) => [e.id, e]));
      for (const r of live) {
        expect(byId.get(r.enrollment_id)).toEqual(r.event.data.course_enrollment);
        expect(await getJson(`/unified/lms/course-enrollments/${r.enrollment_id}`)).toEqual(r.event.data.course_enrollment);
      }
      for (const e of listed) expect(Object.keys(e).sort()).toEqual(ENROLLMENT_KEYS);
    });

    it('has the page shape and orders by (updated_at, id)', async () => {
      const page: Page = await getJson('/unified/lms/course-enrollments');
      expect(Object.keys(page).sort()).toEqual(['next_cursor', 'result']);
      expect(page.result.length).toBe(35); // default limit 100
      expect(page.next_cursor).toBeNull();
      const keys = page.result.map((e) => [e.updated_at, e.id] as const);
      const sorted = [...keys].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
      expect(keys).toEqual(sorted);
    });

    it('walks every page returning each enrollment once', async () => {
      for (const limit of [1, 4, 7, 34, 35]) {
        const ids = (await walk(`limit=${limit}`)).map((e) => e.id);
        expect(ids.length).toBe(35);
        expect(new Set(ids).size).toBe(35);
        expect([...ids].sort()).toEqual(await liveIds());
      }
    });

    it('skips none while enrollments change during the walk', async () => {
      const before = await liveIds();
      let u = 0;
      const seen = await walk('limit=3', async () => {
        // touch one enrollment likely already seen and one likely not yet seen
        u++;
        await apply([
          events.lessonCompleted({ course_id: C2, user_id: (u % 10) + 1, lesson_id: 2002 }, o()),
          events.lessonUncompleted({ course_id: C2, user_id: (u % 10) + 1, lesson_id: 2002 }, o()),
          events.membershipChanged({ course_id: C1, user_id: 4 + (u % 20), join_status: 'joined', custom_fields: { walk: u } }, o()),
        ]);
      });
      expect(u).toBeGreaterThan(5);
      const ids = new Set(seen.map((e) => e.id));
      for (const id of before) expect(ids.has(id)).toBe(true);
    });

    it('filters by course, user, status and updated_at', async () => {
      const all = await walk('limit=1000');
      expect((await walk(`course_id=${C2}`)).map((e) => e.id).sort()).toEqual(
        all
          .filter((e) => e.remote_data.course_id === C2)
          .map((e) => e.id)
          .sort(),
      );
      expect((await walk('user_id=4')).map((e) => e.id).sort()).toEqual([`${C1}:4`, `${C2}:4`]);
      expect((await walk(`course_id=${C1}&user_id=4`)).map((e) => e.id)).toEqual([`${C1}:4`]);
      const statuses = ['assigned', 'unknown'];
      const byStatus = await walk(`status=${statuses.join(',')}`);
      expect(byStatus.map((e) => e.id).sort()).toEqual(
        all
          .filter((e) => statuses.includes(e.status))
          .map((e) => e.id)
          .sort(),
      );
      expect(byStatus.map((e) => e.id).sort()).toEqual([`${C1}:2`, `${C1}:3`]);

      const mid = [...all].sort((a, b) => (a.updated_at < b.updated_at ? -1 : 1))[Math.floor(all.length / 2)].updated_at;
      const cmp = (op: string, f: (t: string) => boolean) => async () => {
        const got = (await walk(`updated_at[${op}]=${encodeURIComponent(mid)}&limit=5`)).map((e) => e.id).sort();
        expect(got).toEqual(
          all
            .filter((e) => f(e.updated_at))
            .map((e) => e.id)
            .sort(),
        );
      };
      await cmp('gt', (t) => t > mid)();
      await cmp('gte', (t) => t >= mid)();
      await cmp('lt', (t) => t < mid)();
      await cmp('lte', (t) => t <= mid)();
      // an offset's "+" sent unencoded arrives as a space and is still understood
      const plus = (await walk(`updated_at[gt]=${mid.replace('Z', '+00:00')}`)).map((e) => e.id).sort();
      expect(plus).toEqual(
        all
          .filter((e) => e.updated_at > mid)
          .map((e) => e.id)
          .sort(),
      );
      const offset = mid.replace('Z', '+00:00');
      expect((await walk(`updated_at[gte]=${encodeURIComponent(offset)}&updated_at[lte]=${encodeURIComponent(offset)}`)).every((e) => e.updated_at === mid)).toBe(true);
    });

    it('answers 400 naming each bad parameter', async () => {
      const L = '/unified/lms/course-enrollments';
      const good: Page = await getJson(`${L}?limit=2`);
      const cursor = good.next_cursor!;
      const [body, sig] = cursor.split('.');
      const payload = JSON.parse(Buffer.from(body, 'base64url').toString());
      const forged = Buffer.from(JSON.stringify({ ...payload, i: '1:1' })).toString('base64url');
      const foreign = new CursorCodec(['some-other-deployment-token']).encode({ u: payload.u, i: payload.i }, payload.f);
      const flipped = sig.slice(0, -1) + (sig.endsWith('A') ? 'B' : 'A');
      const cases: [string, string][] = [
        ['course_id=0', 'course_id'],
        ['course_id=abc', 'course_id'],
        ['course_id=1.5', 'course_id'],
        ['course_id=1&course_id=2', 'course_id'],
        ['user_id=-3', 'user_id'],
        ['user_id=99999999999999999999', 'user_id'],
        ['status=bogus', 'status'],
        ['status=', 'status'],
        ['status=enrolled,', 'status'],
        ['status=assigned&status=unknown', 'status'], // comma-separated, not repeated (api.md)
        ['updated_at[gt]=yesterday', 'updated_at[gt]'],
        ['updated_at[gte]=2026-02-30T00:00:00Z', 'updated_at[gte]'],
        ['updated_at[lt]=2026-11-01T10:00:00', 'updated_at[lt]'],
        ['updated_at[lte]=2026-11-01', 'updated_at[lte]'],
        ['updated_at[eq]=2026-11-01T10:00:00Z', 'updated_at[eq]'],
        ['updated_at=2026-11-01T10:00:00Z', 'updated_at'],
        ['limit=0', 'limit'],
        ['limit=1001', 'limit'],
        ['limit=ten', 'limit'],
        ['next_cursor=garbage', 'next_cursor'],
        ['next_cursor=', 'next_cursor'],
        [`next_cursor=${forged}.${sig}`, 'next_cursor'],
        [`next_cursor=${body}.${flipped}`, 'next_cursor'],
        [`next_cursor=${encodeURIComponent(foreign)}`, 'next_cursor'],
        [`next_cursor=${encodeURIComponent(cursor)}&course_id=${C1}`, 'next_cursor'], // issued for other filters
        [`next_cursor=${'x'.repeat(5000)}`, 'next_cursor'],
      ];
      for (const [q, name] of cases) await expectError(`${L}?${q}`, 400, name);
      // the untouched cursor still works, with a different limit too
      expect((await getJson<Page>(`${L}?limit=3&next_cursor=${encodeURIComponent(cursor)}`)).result.length).toBe(3);
      for (const id of ['abc', '0:1', '1', '1:2:3', '-1:2']) await expectError(`${L}/${id}`, 400, 'id');
    });

    it('answers 404 for an unknown or deleted enrollment', async () => {
      await expectError('/unified/lms/course-enrollments/999:999', 404);
      expect((await ds.query(`SELECT deleted FROM enrollments WHERE id = $1`, [`${C2}:30`]))[0].deleted).toBe(true);
      await expectError(`/unified/lms/course-enrollments/${C2}:30`, 404);
      expect(await walk('user_id=30')).toEqual([]);
    });

    it('holds back what a still-open writer could land behind, so resuming from the last updated_at misses nothing', async () => {
      const [a, b] = (await liveIds()).slice(0, 2);
      // Stamps updated_at (column and state, as the projector does) with the database clock.
      const touch = (runner: { query: (sql: string, params: unknown[]) => Promise<unknown> }, id: string) =>
        runner.query(
          `WITH t AS (SELECT date_trunc('milliseconds', clock_timestamp()) AS ts)
           UPDATE enrollments SET updated_at = t.ts,
             state = jsonb_set(state, '{updated_at}', to_jsonb(to_char(t.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
           FROM t WHERE id = $1`,
          [id],
        );
      const writer = ds.createQueryRunner();
      await writer.connect();
      try {
        // (Past the horizon's one-second clock-skew margin for what earlier tests wrote.)
        await new Promise((r) => setTimeout(r, 1100));
        // Given a writer that stamped enrollment a and has not committed, and b changed after it,
        await writer.startTransaction();
        await touch(writer, a);
        await new Promise((r) => setTimeout(r, 20));
        await touch(ds, b);
        // when a client walks, then resumes from the last updated_at it saw once the writer commits,
        const first = await walk('limit=5');
        const lastSeen = first
          .map((e) => e.updated_at)
          .sort()
          .at(-1)!;
        await writer.commitTransaction();
        const resumed = await walk(`updated_at[gt]=${encodeURIComponent(lastSeen)}&limit=5`);
        // then it has seen both changes (without the horizon, b's later stamp hides a).
        expect(first.map((e) => e.id)).not.toContain(b);
        expect(resumed.map((e) => e.id)).toEqual(expect.arrayContaining([a, b]));
        expect(await walk('limit=1000')).toHaveLength((await liveIds()).length);
      } finally {
        if (writer.isTransactionActive) await writer.rollbackTransaction();
        await writer.release();
      }
    });
  });

  describe('community course views', () => {
    it("Course User Detail: course fields, sections and the user's counts", async () => {
      const d = await getJson(`/api/v2/course/${C1}/?user=9`);
      for (const k of COURSE_KEYS) expect(d).toHaveProperty(k);
      expect(d).toMatchObject({ id: C1, name: 'Course One', slug: 'course-one', type: 'self-paced', deleted: false });
      // left out of the upsert: the defaults of events.md (new_comment_notification_enabled is true)
      expect(d).toMatchObject({ enforce_lessons_order: false, new_comment_notification_enabled: true, hide_member_count: false, privacy: '' });
      expect(d.sections_order).toEqual([11, 12]);
      // user 9 completed 9 % 5 = 4 lessons: 1001..1004
      expect(d.sections).toEqual([
        { id: 11, name: 'First', num_lessons: 3, num_lessons_completed: 3 },
        { id: 12, name: 'Second', num_lessons: 1, num_lessons_completed: 1 },
      ]);
      expect(d).toMatchObject({ join_status: 'joined', num_lessons: 4, num_sections: 2, num_lessons_completed: 4, user_completion_rate: 100 });
      const e = await getJson<CourseEnrollment>(`/unified/lms/course-enrollments/${C1}:9`);
      expect(e.remote_data).toMatchObject({ num_lessons: 4, num_lessons_completed: 4, user_completion_rate: 100 });

      const u7 = await getJson(`/api/v2/course/${C1}?user=7`); // 2 completed; no trailing slash works too
      expect(u7).toMatchObject({ num_lessons_completed: 2, user_completion_rate: 50 });

      const anon = await getJson(`/api/v2/course/${C1}/`);
      expect(anon).toMatchObject({ join_status: null, num_lessons: 4, num_sections: 2, num_lessons_completed: 0, user_completion_rate: 0 });
      expect(anon.sections.map((s: { num_lessons_completed: number }) => s.num_lessons_completed)).toEqual([0, 0]);
      // a user who is not a member gets no per-user values
      expect(await getJson(`/api/v2/course/${C1}/?user=28`)).toMatchObject({ join_status: null, num_lessons_completed: 0, user_completion_rate: 0 });
    });

    it('Course Dashboard: avg_completion_rate over joined members', async () => {
      const d = await getJson(`/api/v2/course/${C1}/?view=dashboard&user=4`);
      expect(Object.keys(d)).toEqual(DASHBOARD_KEYS);
      const rates: number[] = (await ds.query(`SELECT user_completion_rate FROM enrollments WHERE course_id = $1 AND NOT deleted AND join_status = 'joined'`, [C1])).map(
        (r: { user_completion_rate: number }) => r.user_completion_rate,
      );
      expect(rates.length).toBe(22); // users 4..25
      const expected = Math.floor(rates.reduce((a, b) => a + b, 0) / rates.length + 0.5);
      expect(d).toMatchObject({ id: C1, join_status: 'joined', user_completion_rate: 100, avg_completion_rate: expected });
      expect(await getJson(`/api/v2/course/${C1}/?view=dashboard`)).toMatchObject({ join_status: null, user_completion_rate: 0, avg_completion_rate: expected });
    });

    it('Course User Dashboard: statuses, search, ordering and paging', async () => {
      const d = await getJson(`/api/v2/course/${C1}/users/`);
      expect(Object.keys(d).sort()).toEqual(['count', 'next', 'previous', 'results']);
      expect(d.count).toBe(23); // manager 1 + joined 4..25
      expect(d.results.length).toBe(20);
      expect(d.previous).toBeNull();
      expect(d.next).toContain('offset=20');
      expect(Object.keys(d.results[0]).sort()).toEqual(['avatar', 'id', 'join_status', 'joined_at', 'last_active_at', 'real_name', 'user_completion_rate', 'username']);
      const joined = d.results.map((r: { joined_at: string }) => r.joined_at);
      expect(joined).toEqual([...joined].sort().reverse()); // -joined_at by default
      const next: Json = await (await get(d.next.replace(/^https?:\/\/[^/]+/, ''))).json();
      expect(next.results.length).toBe(3);
      expect(next.next).toBeNull();
      expect(next.previous).toContain('offset=0');
      const allIds = [...d.results, ...next.results].map((r: { id: number }) => r.id).sort((a: number, b: number) => a - b);
      expect(allIds).toEqual([1, ...Array.from({ length: 22 }, (_, i) => i + 4)]);

      const u9 = d.results.find((r: { id: number }) => r.id === 9);
      const e9 = await getJson<CourseEnrollment>(`/unified/lms/course-enrollments/${C1}:9`);
      expect(u9).toEqual({
        id: 9,
        username: 'user9',
        real_name: 'Real Name 9',
        avatar: 'https://img.example/9.png',
        join_status: 'joined',
        user_completion_rate: 100,
        last_active_at: e9.last_activity_at,
        joined_at: e9.enrolled_at,
      });

      const invited = await getJson(`/api/v2/course/${C1}/users/?statuses=invited&statuses=requested`);
      expect(invited.results.map((r: { id: number }) => r.id).sort()).toEqual([2, 3]);
      expect((await getJson(`/api/v2/course/${C1}/users/?statuses=invited,manager`)).results.map((r: { id: number }) => r.id).sort()).toEqual([1, 2]);

      expect((await getJson(`/api/v2/course/${C1}/users/?search=${encodeURIComponent('%')}`)).results.map((r: { id: number }) => r.id)).toEqual([7]);
      expect((await getJson(`/api/v2/course/${C1}/users/?search=_`)).results.map((r: { id: number }) => r.id)).toEqual([8]);
      expect((await getJson(`/api/v2/course/${C1}/users/?search=REAL%20NAME%2012`)).results.map((r: { id: number }) => r.id)).toEqual([12]);
      expect((await getJson(`/api/v2/course/${C1}/users/?search=zo%C3%AB`)).results.map((r: { id: number }) => r.id)).toEqual([8]);

      const byActive = await getJson(`/api/v2/course/${C1}/users/?ordering=last_active_at&limit=1000`);
      const active = byActive.results.map((r: { last_active_at: string | null }) => r.last_active_at);
      const nonNull = active.filter((a: string | null) => a !== null);
      expect(nonNull).toEqual([...nonNull].sort());
      expect(active.slice(nonNull.length).every((a: string | null) => a === null)).toBe(true);

      const page = await getJson(`/api/v2/course/${C1}/users/?limit=5&offset=5`);
      expect(page.results.length).toBe(5);
      expect(page.previous).toContain('offset=0');
      expect(page.next).toContain('offset=10');
    });

    it('shows a deleted course with no members and 404s an unknown one', async () => {
      const d = await getJson(`/api/v2/course/${C3}/`);
      expect(d).toMatchObject({ id: C3, deleted: true, sections_order: [], sections: [], num_lessons: 0 });
      // its last known fields, as in its last upsert (api.md)
      expect(d).toMatchObject({ name: 'Course Three', type: 'self-paced', slug: 'course-three', privacy: 'open', new_comment_notification_enabled: true });
      expect(await getJson(`/api/v2/course/${C3}/users/`)).toEqual({ count: 0, next: null, previous: null, results: [] });
      expect(await getJson(`/api/v2/course/${C3}/?view=dashboard`)).toMatchObject({ name: 'Course Three', type: 'self-paced', deleted: true, avg_completion_rate: 0 });
      await expectError('/api/v2/course/999/', 404);
      await expectError('/api/v2/course/999/?view=dashboard', 404);
      await expectError('/api/v2/course/999/users/', 404);
    });

    it('answers 400 naming each bad parameter', async () => {
      const cases: [string, string][] = [
        ['/api/v2/course/abc/', 'course_id'],
        ['/api/v2/course/0/users/', 'course_id'],
        [`/api/v2/course/${C1}/?user=x`, 'user'],
        [`/api/v2/course/${C1}/?view=other`, 'view'],
        [`/api/v2/course/${C1}/users/?statuses=owner`, 'statuses'],
        [`/api/v2/course/${C1}/users/?ordering=name`, 'ordering'],
        [`/api/v2/course/${C1}/users/?limit=0`, 'limit'],
        [`/api/v2/course/${C1}/users/?limit=1001`, 'limit'],
        [`/api/v2/course/${C1}/users/?offset=-1`, 'offset'],
      ];
      for (const [path, name] of cases) await expectError(path, 400, name);
    });
  });

  it('serves OpenAPI 3.1 JSON and an HTML page', async () => {
    const doc = await getJson('/docs-json');
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/unified/lms/course-enrollments',
        '/unified/lms/course-enrollments/{id}',
        '/api/v2/course/{course_id}/',
        '/api/v2/course/{course_id}/users/',
      ]),
    );
    const html = await get('/docs');
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toContain('text/html');
  });
});
