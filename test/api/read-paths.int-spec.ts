/**
 * The read API's course-size-independent paths (docs/performance.md, "Read API") give the same
 * answers as working them out from every member: the member list merged per join status from
 * its indexes, counts and averages from the maintained counters, the unified list merged per
 * status; and the community views and by-id route carry ETags from versions and answer 304.
 * Seeded through the real input path (workload builders → decodeMessage → InputApplier).
 */
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '@app/config';
import { decodeMessage } from '@app/contracts';
import type { CourseEnrollment } from '@app/domain';
import { createDataSource, migrateUp } from '@app/persistence';
import { createProjection, InputApplier } from '@app/projection';
import { clock, events, InputMessage, rng } from '@app/workload';
import { ReadApiModule } from '../../apps/read-api/src/read-api.module';
import { isolatedConfig } from '../support/isolation';

const TOKEN = 'r'.repeat(32);
const BIG = 501;
const SMALL = 502;
const MEMBERS = 240;
const STATUSES = ['manager', 'joined', 'joined', 'joined', 'invited', 'requested', 'creator', null] as const;

type Json = any;
interface Member {
  id: number;
  username: string | null;
  real_name: string | null;
  join_status: string | null;
  user_completion_rate: number;
  last_active_at: string | null;
  joined_at: string | null;
}

describe('read paths at course scale', () => {
  const config = isolatedConfig({ API_TOKENS: TOKEN });
  let ds: DataSource;
  let app: INestApplication;
  let base: string;
  let applier: InputApplier;
  const tick = clock('2026-10-01T09:00:00.000Z');
  let seq = 0;
  const o = () => ({ time: tick(1000), id: `rp-${++seq}` });

  const apply = async (msgs: InputMessage[]) => {
    await applier.apply(
      msgs.map((m) => {
        const r = decodeMessage({ topic: config.topics[m.topic], key: Buffer.from(m.key), value: Buffer.from(m.value) }, config.topics);
        if (!r.ok) throw new Error(r.reason);
        return r.event;
      }),
    );
  };
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}`, ...headers } });
  const getJson = async (path: string): Promise<Json> => {
    const res = await get(path);
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };

  /** Every live member of a course as the list shows them, worked out from every enrollment. */
  const allMembers = async (courseId: number): Promise<Member[]> =>
    (
      await ds.query(
        `SELECT e.user_id, u.profile->>'username' AS username, u.profile->>'real_name' AS real_name, e.join_status,
                e.user_completion_rate, e.state->>'last_activity_at' AS last_active_at, e.state->>'enrolled_at' AS joined_at
         FROM enrollments e LEFT JOIN user_facts u ON u.user_id = e.user_id AND NOT u.deleted
         WHERE e.course_id = $1 AND NOT e.deleted AND e.join_status IS NOT NULL`,
        [courseId],
      )
    ).map((r: Json) => ({ ...r, id: Number(r.user_id), user_id: undefined }));

  /** The list's order: the key (nulls last either way), then the user id in the same direction. */
  const sorted = (ms: Member[], ordering: string): Member[] => {
    const desc = ordering.startsWith('-');
    const key = ordering.endsWith('joined_at') ? 'joined_at' : 'last_active_at';
    return [...ms].sort((a, b) => {
      const [x, y] = [a[key], b[key]];
      if (x !== y) {
        if (x === null) return 1;
        if (y === null) return -1;
        return (x < y ? -1 : 1) * (desc ? -1 : 1);
      }
      return (a.id - b.id) * (desc ? -1 : 1);
    });
  };

  beforeAll(async () => {
    ds = await createDataSource(config.database).initialize();
    await migrateUp(ds, config.database.schema);
    applier = createProjection(ds, config.courseUrlTemplate).applier;
    const rand = rng(4);
    await apply([
      events.courseUpserted({ id: BIG, name: 'Big' }, o()),
      events.sectionUpserted(BIG, { id: 51, name: 'S', position: 1 }, o()),
      ...[1, 2, 3].map((l) => events.lessonUpserted(BIG, { id: 5100 + l, section_id: 51, name: `L${l}`, status: 'published', position: l }, o())),
      events.courseUpserted({ id: SMALL, name: 'Small' }, o()),
    ]);
    const people: InputMessage[] = [];
    for (let u = 1; u <= MEMBERS; u++) {
      people.push(
        events.userUpserted({ id: u, username: u % 7 === 0 ? `sam${u}` : `user${u}`, real_name: u % 11 === 0 ? `Samantha ${u}` : `Person ${u}`, emails: [] }, o()),
      );
      people.push(events.membershipChanged({ course_id: BIG, user_id: u, join_status: STATUSES[Math.floor(rand() * STATUSES.length)] }, o()));
      if (u % 3 === 0) people.push(events.membershipChanged({ course_id: SMALL, user_id: u, join_status: 'joined' }, o()));
    }
    await apply(people);
    // Some complete lessons (rates and last activity), in a shuffled order of times.
    const progress: InputMessage[] = [];
    for (let u = 1; u <= MEMBERS; u++) {
      for (let l = 1; l <= Math.floor(rand() * 4); l++) progress.push(events.lessonCompleted({ course_id: BIG, user_id: u, lesson_id: 5100 + l }, o()));
    }
    await apply(progress);
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

  it('pages the member list in every ordering and status mix as a sort of every member would', async () => {
    const members = await allMembers(BIG);
    expect(new Set(members.map((m) => m.join_status)).size).toBe(5);
    expect(members.some((m) => m.last_active_at === null) && members.some((m) => m.last_active_at !== null)).toBe(true);
    expect(members.some((m) => m.joined_at === null) && members.some((m) => m.joined_at !== null)).toBe(true);
    for (const statuses of [undefined, 'joined', 'invited,requested', 'creator,manager,joined,invited,requested']) {
      const wanted = (statuses ?? 'manager,joined').split(',');
      const matching = members.filter((m) => wanted.includes(m.join_status!));
      for (const ordering of ['-joined_at', 'joined_at', 'last_active_at', '-last_active_at']) {
        const expected = sorted(matching, ordering);
        for (const [offset, limit] of [
          [0, 20],
          [17, 9],
          [matching.length - 3, 20],
          [matching.length, 5],
        ]) {
          const q = `ordering=${ordering}&offset=${offset}&limit=${limit}${statuses ? `&statuses=${statuses}` : ''}`;
          const page = await getJson(`/api/v2/course/${BIG}/users/?${q}`);
          expect({ q, count: page.count }).toEqual({ q, count: matching.length });
          const got = page.results.map((r: Json) => ({
            id: r.id,
            username: r.username,
            real_name: r.real_name,
            join_status: r.join_status,
            user_completion_rate: r.user_completion_rate,
            last_active_at: r.last_active_at,
            joined_at: r.joined_at,
          }));
          expect({ q, got }).toEqual({ q, got: expected.slice(offset, offset + limit) });
        }
      }
    }
  });

  it('counts and pages a search from the profiles that match', async () => {
    const members = (await allMembers(BIG)).filter((m) => ['manager', 'joined'].includes(m.join_status!));
    for (const search of ['sam', 'SAMANTHA', 'user1', 'zzz', 'n 2']) {
      const s = search.toLowerCase();
      const matching = sorted(
        members.filter((m) => (m.username ?? '').toLowerCase().includes(s) || (m.real_name ?? '').toLowerCase().includes(s)),
        '-joined_at',
      );
      const page = await getJson(`/api/v2/course/${BIG}/users/?search=${encodeURIComponent(search)}&limit=7&offset=2`);
      expect({ search, count: page.count }).toEqual({ search, count: matching.length });
      expect({ search, ids: page.results.map((r: Json) => r.id) }).toEqual({ search, ids: matching.slice(2, 9).map((m) => m.id) });
    }
  });

  it('answers avg_completion_rate from the counters as from every joined member', async () => {
    const joined = (await allMembers(BIG)).filter((m) => m.join_status === 'joined');
    const sum = joined.reduce((a, m) => a + m.user_completion_rate, 0);
    const d = await getJson(`/api/v2/course/${BIG}/?view=dashboard`);
    expect(d.avg_completion_rate).toBe(Math.floor(sum / joined.length + 0.5));
  });

  it('pages the unified list of a course, with and without statuses, in (updated_at, id) order', async () => {
    const rows: { id: string; status: string; updated_at: string }[] = await ds.query(
      `SELECT id, status, state->>'updated_at' AS updated_at FROM enrollments WHERE course_id = $1 AND NOT deleted ORDER BY updated_at, id`,
      [BIG],
    );
    expect(new Set(rows.map((r) => r.status)).size).toBeGreaterThan(2);
    for (const status of [undefined, 'assigned,unknown', 'withdrawn']) {
      const expected = rows.filter((r) => !status || status.split(',').includes(r.status)).map((r) => r.id);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const p: Json = await getJson(
          `/unified/lms/course-enrollments?course_id=${BIG}&limit=13${status ? `&status=${status}` : ''}${cursor ? `&next_cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        seen.push(...p.result.map((e: CourseEnrollment) => e.id));
        cursor = p.next_cursor;
      } while (cursor);
      expect({ status, seen }).toEqual({ status, seen: expected });
    }
  });

  describe('caching', () => {
    const routes = [
      `/api/v2/course/${BIG}/?user=14`,
      `/api/v2/course/${BIG}/?view=dashboard`,
      `/api/v2/course/${BIG}/users/?limit=5`,
      `/unified/lms/course-enrollments/${BIG}:14`,
    ];
    const tags = async () => Promise.all(routes.map(async (r) => (await get(r)).headers.get('etag')));

    it('sends an ETag and Cache-Control: private, no-cache, and 304 with no body on a matching If-None-Match', async () => {
      for (const route of routes) {
        const first = await get(route);
        expect(first.status).toBe(200);
        const body = await first.json();
        const etag = first.headers.get('etag');
        expect({ route, etag }).toEqual({ route, etag: expect.stringMatching(/^"[^"]+"$/) });
        expect(first.headers.get('cache-control')).toBe('private, no-cache');
        const again = await get(route, { 'if-none-match': etag! });
        expect({ route, status: again.status, etag: again.headers.get('etag') }).toEqual({ route, status: 304, etag });
        expect(await again.text()).toBe('');
        expect(again.headers.get('etag')).toBe(etag);
        const stale = await get(route, { 'if-none-match': '"something-else"' });
        expect(stale.status).toBe(200);
        expect(await stale.json()).toEqual(body);
      }
    });

    it('moves each ETag when what the view shows changes', async () => {
      const before = await tags();
      // The member's progress: their enrollment, the course's average and list.
      await apply([events.lessonCompleted({ course_id: BIG, user_id: 14, lesson_id: 5103 }, o())]);
      const afterProgress = await tags();
      routes.forEach((r, i) => expect({ r, moved: afterProgress[i] !== before[i] }).toEqual({ r, moved: true }));
      // A profile edit that only the member list shows (the avatar).
      await apply([events.userUpserted({ id: 14, username: 'sam14', real_name: 'Person 14', avatar: 'https://img.example/14.png', emails: [] }, o())]);
      const list = await get(routes[2]);
      expect(list.headers.get('etag')).not.toBe(afterProgress[2]);
      // A course edit: every community view.
      await apply([events.courseUpserted({ id: BIG, name: 'Big, renamed' }, o())]);
      const afterCourse = await tags();
      expect((await getJson(routes[0])).name).toBe('Big, renamed');
      [0, 1, 2].forEach((i) => expect(afterCourse[i]).not.toBe(afterProgress[i]));
      // A new lesson (structure): the course views before any recompute has run.
      const detail = afterCourse[0];
      await apply([events.lessonUpserted(BIG, { id: 5104, section_id: 51, name: 'L4', status: 'published', position: 4 }, o())]);
      expect((await get(routes[0])).headers.get('etag')).not.toBe(detail);
    });
  });
});
