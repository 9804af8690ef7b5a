/**
 * DATABASE_READ_URL on a real Postgres. A streaming replica cannot be set up here, so the read
 * database is the same server reached through a URL of its own (`localhost` for `127.0.0.1`):
 * a second pool, the path a replica takes (the list asks the read database how far it has
 * replayed, here its own WAL position), and answers that must equal the ones of an API reading
 * from DATABASE_URL alone. When a lagging replica serves a page is decided by pure functions
 * (libs/persistence/src/read/replica-position.spec.ts).
 */
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig, loadConfig } from '@app/config';
import { decodeMessage, InputEvent } from '@app/contracts';
import { createDataSource, migrateUp } from '@app/persistence';
import { createProjection, InputApplier } from '@app/projection';
import { clock, events, InputMessage } from '@app/workload';
import { ReadApiModule } from '../../apps/read-api/src/read-api.module';
import { isolatedConfig } from '../support/isolation';

const TOKEN = 'r'.repeat(32);
const C1 = 301;
const C2 = 302;

describe('read API with DATABASE_READ_URL (same server, its own connection)', () => {
  const config = isolatedConfig({ API_TOKENS: TOKEN, AUTH_FAILURE_LIMIT: '0' });
  const readUrl = new URL(config.database.url);
  readUrl.hostname = readUrl.hostname === '127.0.0.1' ? 'localhost' : '127.0.0.1';
  const withReader: AppConfig = {
    ...config,
    database: loadConfig({
      DATABASE_URL: config.database.url,
      DATABASE_READ_URL: readUrl.toString(),
      DATABASE_SCHEMA: config.database.schema,
      DATABASE_POOL_SIZE: String(config.database.poolSize),
    }).database,
  };
  let ds: DataSource;
  let applier: InputApplier;
  const apps: INestApplication[] = [];
  const bases: { primaryOnly: string; withReader: string } = { primaryOnly: '', withReader: '' };
  const tick = clock('2026-11-02T09:00:00.000Z');
  let seq = 0;
  const o = () => ({ time: tick(), id: `evt-rd-${++seq}` });

  async function apply(msgs: InputMessage[]): Promise<void> {
    const decoded: InputEvent[] = msgs.map((m) => {
      const r = decodeMessage({ topic: config.topics[m.topic], key: Buffer.from(m.key), value: Buffer.from(m.value) }, config.topics);
      if (!r.ok) throw new Error(r.reason);
      return r.event;
    });
    await applier.apply(decoded);
  }

  async function boot(c: AppConfig): Promise<string> {
    const moduleRef = await Test.createTestingModule({ imports: [ReadApiModule] })
      .overrideProvider(APP_CONFIG)
      .useValue(c)
      .compile();
    const app = moduleRef.createNestApplication();
    apps.push(app);
    await app.listen(0, '127.0.0.1');
    return `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  }

  const fetchBoth = async (path: string) =>
    Promise.all(
      [bases.primaryOnly, bases.withReader].map(async (base) => {
        const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
        return { path, status: res.status, etag: res.headers.get('etag'), body: await res.text() };
      }),
    );

  beforeAll(async () => {
    expect(withReader.database.read?.url).toBe(readUrl.toString());
    ds = await createDataSource(config.database).initialize();
    await migrateUp(ds, config.database.schema);
    applier = createProjection(ds, config.courseUrlTemplate).applier;
    await apply([
      events.courseUpserted({ id: C1, name: 'Replica One', slug: 'replica-one' }, o()),
      events.sectionUpserted(C1, { id: 31, name: 'Only', position: 1 }, o()),
      ...[1, 2].map((i) => events.lessonUpserted(C1, { id: 3000 + i, section_id: 31, name: `L${i}`, status: 'published', position: i }, o())),
      events.courseUpserted({ id: C2, name: 'Replica Two' }, o()),
    ]);
    const people: InputMessage[] = [];
    for (let u = 1; u <= 12; u++) {
      people.push(events.userUpserted({ id: u, username: `reader${u}`, real_name: `Read Er ${u}`, emails: [] }, o()));
      people.push(events.membershipChanged({ course_id: u % 3 === 0 ? C2 : C1, user_id: u, join_status: u === 1 ? 'manager' : 'joined' }, o()));
    }
    await apply(people);
    await apply([1, 2, 4].map((u) => events.lessonCompleted({ course_id: C1, user_id: u, lesson_id: 3001 }, o())));
    bases.primaryOnly = await boot(config);
    bases.withReader = await boot(withReader);
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    await ds?.query(`DROP SCHEMA IF EXISTS "${config.database.schema}" CASCADE`);
    await ds?.destroy();
  });

  it('answers every list, view, page and error exactly as the API reading from DATABASE_URL alone', async () => {
    const paths = [
      '/unified/lms/course-enrollments',
      '/unified/lms/course-enrollments?limit=3',
      `/unified/lms/course-enrollments?course_id=${C1}&status=assigned`,
      `/unified/lms/course-enrollments?user_id=4`,
      `/unified/lms/course-enrollments/${C1}:4`,
      `/unified/lms/course-enrollments/${C1}:99`,
      `/api/v2/course/${C1}/`,
      `/api/v2/course/${C1}/?user=2`,
      `/api/v2/course/${C1}/?view=dashboard&user=2`,
      `/api/v2/course/${C1}/users/?limit=4&offset=2`,
      `/api/v2/course/${C1}/users/?statuses=manager,joined&ordering=joined_at&limit=3&offset=6`,
      `/api/v2/course/${C1}/users/?search=reader1`,
      `/api/v2/course/${C2}/users/`,
      '/api/v2/course/999/',
    ];
    for (const path of paths) {
      const [primaryOnly, reader] = await fetchBoth(path);
      expect(reader).toEqual(primaryOnly);
      expect({ path, ok: primaryOnly.status === 200 || primaryOnly.status === 404 }).toEqual({ path, ok: true });
    }
    // A cursor walk gives the same enrollments through either API (cursors are signed with the same tokens).
    const walk = async (base: string): Promise<string[]> => {
      const ids: string[] = [];
      let next: string | null = '';
      while (next !== null) {
        const res = await fetch(`${base}/unified/lms/course-enrollments?limit=5${next ? `&next_cursor=${encodeURIComponent(next)}` : ''}`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        const page = (await res.json()) as { result: { id: string }[]; next_cursor: string | null };
        ids.push(...page.result.map((e) => e.id));
        next = page.next_cursor;
      }
      return ids;
    };
    const viaReader = await walk(bases.withReader);
    expect(viaReader).toHaveLength(12);
    expect(viaReader).toEqual(await walk(bases.primaryOnly));
  });

  it('reads through a pool of its own on DATABASE_READ_URL, and reports both databases as ready', async () => {
    const [{ readers }]: { readers: number }[] = await ds.query(`SELECT count(*)::int AS readers FROM pg_stat_activity WHERE application_name LIKE $1`, [
      `${config.database.schema}/%:read`,
    ]);
    expect(readers).toBeGreaterThan(0);
    for (const base of [bases.primaryOnly, bases.withReader]) {
      const res = await fetch(`${base}/health/ready`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { checks: unknown }).checks).toEqual({ postgres: { ok: true }, postgres_read: { ok: true } });
    }
  });
});
