/**
 * The read API under hostile or unlucky conditions (issue 10), against a real Postgres, Redis and
 * Kafka broker: values the projection stored that Postgres cannot cast, parameters Postgres
 * cannot take, an exhausted pool and a database that went away, cross-site posts to the queue
 * dashboard and what its page loads, framing, token guessing, a forged Host header, and
 * readiness while no worker runs.
 * Each case here was seen to fail on the read API before it was hardened.
 */
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { request as httpRequest } from 'node:http';
import { readdirSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { createServer, Server, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { DataSource } from 'typeorm';
import { AppConfig, APP_CONFIG } from '@app/config';
import { decodeMessage, InputEvent } from '@app/contracts';
import { QUEUES } from '@app/jobs';
import { createDataSource, migrateUp } from '@app/persistence';
import { createProjection, InputApplier } from '@app/projection';
import { clock, events, InputMessage } from '@app/workload';
import { ReadApiModule } from '../../apps/read-api/src/read-api.module';
import { AdminQueues } from '../../apps/read-api/src/admin/admin-queues';
import { isolatedConfig } from '../support/isolation';

/** Debian's Chromium; `npm test` installs it when missing (scripts/test.mjs). */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const TOKEN = 'h'.repeat(32);
const BULL_BOARD_CSS = join(dirname(require.resolve('@bull-board/ui/package.json')), 'dist', 'static', 'css');
const COURSE = 501;
const ANCIENT = 502; // every fact time of this course is in year 0000
const MEMBERS = 30;

type Json = any;

interface Api {
  app: INestApplication;
  base: string;
  port: number;
  close(): Promise<void>;
}

async function bootApi(config: AppConfig): Promise<Api> {
  const moduleRef = await Test.createTestingModule({ imports: [ReadApiModule] })
    .overrideProvider(APP_CONFIG)
    .useValue(config)
    .compile();
  const app = moduleRef.createNestApplication();
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as AddressInfo).port;
  return { app, port, base: `http://127.0.0.1:${port}`, close: () => app.close() };
}

/** One HTTP request with full control of the headers (fetch would not let a test set Host). */
function raw(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** The CSP as directive -> sources. */
const csp = (header: string): Record<string, string[]> =>
  Object.fromEntries(
    header
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name, ...sources]) => [name, sources]),
  );

/** A TCP relay to the real Postgres that the test can cut (database down) and restore. */
class PostgresRelay {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async open(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = new Socket();
      this.sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      upstream.connect(this.target.port, this.target.host, () => {
        client.pipe(upstream);
        upstream.pipe(client);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', () => resolve()));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async cut(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await closed;
  }
}

describe('read API hardening (issue 10)', () => {
  const config = isolatedConfig({ API_TOKENS: TOKEN });
  const auth = { authorization: `Bearer ${TOKEN}` };
  let ds: DataSource;
  let applier: InputApplier;
  let api: Api;
  const tick = clock('2026-11-01T09:00:00.000Z');
  let seq = 0;
  const o = () => ({ time: tick(), id: `hard-${++seq}` });

  const decode = (msgs: InputMessage[]): InputEvent[] =>
    msgs.map((m) => {
      const r = decodeMessage({ topic: config.topics[m.topic], key: Buffer.from(m.key), value: Buffer.from(m.value) }, config.topics);
      if (!r.ok) throw new Error(r.reason);
      return r.event;
    });

  const get = (path: string, headers: Record<string, string> = auth) => fetch(`${api.base}${path}`, { headers });
  const expect400Naming = async (path: string, name: string) => {
    const res = await get(path);
    const body: Json = await res.json();
    expect({ path, status: res.status }).toEqual({ path, status: 400 });
    expect(body).toEqual({ statusCode: 400, error: 'Bad Request', message: expect.stringContaining(name) });
  };

  beforeAll(async () => {
    ds = await createDataSource(config.database).initialize();
    await migrateUp(ds, config.database.schema);
    applier = createProjection(ds, config.courseUrlTemplate).applier;
    await applier.apply(
      decode([
        events.courseUpserted({ id: COURSE, name: 'Hardened' }, o()),
        events.sectionUpserted(COURSE, { id: 51, name: 'S', position: 1 }, o()),
        events.lessonUpserted(COURSE, { id: 5001, section_id: 51, name: 'L', status: 'published', position: 1 }, o()),
      ]),
    );
    const people: InputMessage[] = [];
    for (let u = 1; u <= MEMBERS; u++) {
      people.push(events.userUpserted({ id: u, username: `hard${u}`, real_name: `Hard ${u}`, emails: [] }, o()));
      people.push(events.membershipChanged({ course_id: COURSE, user_id: u, join_status: 'joined' }, o()));
    }
    await applier.apply(decode(people));

    // Year 0000 through the projection's own write path. The contract may stop accepting it at
    // the edge; rows written while it did stay in the database, and must stay readable.
    const ancient = decode([
      events.courseUpserted({ id: ANCIENT, name: 'Ancient' }, o()),
      events.membershipChanged({ course_id: ANCIENT, user_id: 1, join_status: 'joined' }, o()),
      events.membershipChanged({ course_id: ANCIENT, user_id: 2, join_status: 'joined' }, o()),
    ]);
    ancient.forEach((e, i) => {
      e.fact.meta.time = `0000-01-01T00:00:0${i}.000000Z`;
    });
    await applier.apply(ancient);

    api = await bootApi(config);
  });

  afterAll(async () => {
    await api?.close();
    await ds?.query(`DROP SCHEMA IF EXISTS "${config.database.schema}" CASCADE`);
    await ds?.destroy();
  });

  describe('never a 5xx for what a client sends', () => {
    it('shows members whose stored times are in year 0000 (was 500: date/time field value out of range)', async () => {
      for (const ordering of ['-joined_at', 'joined_at', 'last_active_at', '-last_active_at']) {
        const res = await get(`/api/v2/course/${ANCIENT}/users/?ordering=${ordering}`);
        const body: Json = await res.json();
        expect({ ordering, status: res.status }).toEqual({ ordering, status: 200 });
        expect(body.count).toBe(2);
        for (const r of body.results) expect(r.joined_at).toMatch(/^0000-01-01T00:00:0\d\.000Z$/);
      }
      const byJoined: Json = await (await get(`/api/v2/course/${ANCIENT}/users/?ordering=joined_at`)).json();
      const ids: number[] = byJoined.results.map((r: Json) => r.id);
      expect(ids).toEqual([1, 2]);
      expect((await get(`/api/v2/course/${ANCIENT}/?user=1`)).status).toBe(200);
      expect((await get(`/api/v2/course/${ANCIENT}/?view=dashboard&user=1`)).status).toBe(200);
      expect((await get(`/unified/lms/course-enrollments/${ANCIENT}:1`)).status).toBe(200);
      expect((await get(`/unified/lms/course-enrollments?course_id=${ANCIENT}`)).status).toBe(200);
    });

    it('takes updated_at offsets from ±16:00 to ±23:59 as the instants they are (was 500: time zone displacement out of range)', async () => {
      const listed: Json = await (await get(`/unified/lms/course-enrollments?limit=1000`)).json();
      const all: Json[] = listed.result;
      const mid = [...all].map((e) => e.updated_at).sort()[Math.floor(all.length / 2)];
      for (const offset of ['+16:00', '-16:00', '+23:59', '-23:59', '+15:59']) {
        // The same instant as `mid`, written with this offset.
        const sign = offset.startsWith('-') ? -1 : 1;
        const shiftMs = sign * (Number(offset.slice(1, 3)) * 3600_000 + Number(offset.slice(4, 6)) * 60_000);
        const local = new Date(Date.parse(mid) + shiftMs).toISOString().replace('Z', offset);
        const res = await get(`/unified/lms/course-enrollments?limit=1000&updated_at[gt]=${encodeURIComponent(local)}`);
        const page: Json = await res.json();
        expect({ offset, status: res.status }).toEqual({ offset, status: 200 });
        const got = (page.result as Json[]).map((e) => e.id).sort();
        expect(got).toEqual(
          all
            .filter((e) => e.updated_at > mid)
            .map((e) => e.id)
            .sort(),
        );
      }
      // The earliest instant RFC 3339 can write, year 0001 with +23:59, lies in year 0000 UTC.
      expect((await get(`/unified/lms/course-enrollments?updated_at[gt]=${encodeURIComponent('0001-01-01T00:00:00+23:59')}`)).status).toBe(200);
      await expect400Naming(`/unified/lms/course-enrollments?updated_at[lt]=${encodeURIComponent('9999-12-31T23:59:59-23:59')}`, 'updated_at[lt]');
    });

    it('answers 400 naming search for a NUL character (was 500: invalid byte sequence)', async () => {
      await expect400Naming(`/api/v2/course/${COURSE}/users/?search=a%00b`, 'search');
      await expect400Naming(`/api/v2/course/${COURSE}/users/?search=%00`, 'search');
    });

    it('answers 400 for array-style and repeated parameters instead of ignoring them (was 200 unfiltered)', async () => {
      const L = '/unified/lms/course-enrollments';
      await expect400Naming(`${L}?course_id[]=${COURSE}`, 'course_id');
      await expect400Naming(`${L}?course_id[0]=${COURSE}`, 'course_id');
      await expect400Naming(`${L}?${encodeURIComponent('user_id[]')}=1`, 'user_id');
      await expect400Naming(`${L}?status[]=enrolled`, 'status');
      await expect400Naming(`${L}?status=enrolled&status=completed`, 'status');
      await expect400Naming(`${L}?limit=5&limit=6`, 'limit');
      await expect400Naming(`${L}?updated_at[gt][]=2026-01-01T00:00:00Z`, 'updated_at[gt]');
      await expect400Naming(`${L}?courseid=${COURSE}`, 'courseid');
      await expect400Naming(`/api/v2/course/${COURSE}/?user[]=1`, 'user');
      await expect400Naming(`/api/v2/course/${COURSE}/?view=dashboard&view=dashboard`, 'view');
      await expect400Naming(`/api/v2/course/${COURSE}/users/?search=a&search=b`, 'search');
      await expect400Naming(`/api/v2/course/${COURSE}/users/?statuses[]=joined`, 'statuses');
      await expect400Naming(`/api/v2/course/${COURSE}/users/?offset=0&offset=20`, 'offset');
      // statuses on the member list is the one parameter api.md allows repeated
      const both: Json = await (await get(`/api/v2/course/${COURSE}/users/?statuses=joined&statuses=manager&limit=1`)).json();
      expect(both.count).toBe(MEMBERS);
    });
  });

  describe('database unavailable → 503 with Retry-After', () => {
    it('answers 503 while every pool connection is taken (pg-pool connect timeout), then serves again', async () => {
      const small = await bootApi({ ...config, database: { ...config.database, poolSize: 1 }, api: { ...config.api, databaseConnectTimeoutMs: 1000 } });
      expect((await fetch(`${small.base}/api/v2/course/${COURSE}/`, { headers: auth })).status).toBe(200);
      const holder = small.app.get(DataSource).createQueryRunner();
      try {
        await holder.connect(); // the pool's only connection
        for (const path of [
          '/unified/lms/course-enrollments',
          `/unified/lms/course-enrollments/${COURSE}:1`,
          `/api/v2/course/${COURSE}/`,
          `/api/v2/course/${COURSE}/users/`,
        ]) {
          // (The abort only keeps a hanging request from hanging the suite.)
          const res = await fetch(`${small.base}${path}`, { headers: auth, signal: AbortSignal.timeout(20_000) });
          expect({ path, status: res.status }).toEqual({ path, status: 503 });
          expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
          expect(await res.json()).toEqual({ statusCode: 503, error: 'Service Unavailable', message: expect.not.stringMatching(/timeout exceeded|pg|pool/i) });
        }
      } finally {
        await holder.release();
      }
      expect((await fetch(`${small.base}/api/v2/course/${COURSE}/`, { headers: auth })).status).toBe(200);
      await small.close();
    });

    it('answers 503 while the database is down, then serves again when it is back', async () => {
      const url = new URL(config.database.url);
      const relay = new PostgresRelay({ host: url.hostname, port: Number(url.port || 5432) });
      await relay.open();
      url.port = String(relay.port);
      const viaRelay = await bootApi({ ...config, database: { ...config.database, url: url.toString() } });
      try {
        expect((await fetch(`${viaRelay.base}/api/v2/course/${COURSE}/`, { headers: auth })).status).toBe(200);
        await relay.cut();
        for (const path of ['/unified/lms/course-enrollments', `/api/v2/course/${COURSE}/users/`, `/api/v2/course/${COURSE}/`]) {
          const res = await fetch(`${viaRelay.base}${path}`, { headers: auth, signal: AbortSignal.timeout(20_000) });
          expect({ path, status: res.status }).toEqual({ path, status: 503 });
          expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
          const body: Json = await res.json();
          expect(body).toEqual({ statusCode: 503, error: 'Service Unavailable', message: expect.any(String) });
          expect(body.message).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|terminated/);
        }
        const ready = await fetch(`${viaRelay.base}/health/ready`);
        expect(ready.status).toBe(503);
        await relay.open(); // the same port again
        let status = 0;
        for (let i = 0; i < 3 && status !== 200; i++) status = (await fetch(`${viaRelay.base}/api/v2/course/${COURSE}/`, { headers: auth })).status;
        expect(status).toBe(200);
      } finally {
        await viaRelay.close();
        await relay.cut();
      }
    });
  });

  describe('security headers', () => {
    it('sends nosniff and no X-Powered-By on every response, and forbids framing', async () => {
      for (const [path, headers] of [
        ['/unified/lms/course-enrollments', auth],
        ['/unified/lms/course-enrollments?limit=0', auth],
        ['/unified/lms/course-enrollments', {}],
        ['/no/such/route', auth],
        ['/health/live', {}],
        ['/metrics', {}],
        ['/docs', auth],
        ['/admin/queues', auth],
        ['/admin/queues', {}],
        ['/admin/queues/api/queues', auth],
      ] as [string, Record<string, string>][]) {
        const res = await raw(api.port, 'GET', path, headers);
        expect({ path, poweredBy: res.headers['x-powered-by'] }).toEqual({ path, poweredBy: undefined });
        expect({ path, nosniff: res.headers['x-content-type-options'] }).toEqual({ path, nosniff: 'nosniff' });
        expect({ path, xfo: res.headers['x-frame-options'] }).toEqual({ path, xfo: 'DENY' });
        expect({ path, csp: res.headers['content-security-policy'] }).toEqual({ path, csp: expect.stringContaining("frame-ancestors 'none'") });
      }
    });

    it("loads the queue dashboard from its own origin only: no other host in its page or stylesheets, a CSP of 'self' (was Google Fonts)", async () => {
      const page = await raw(api.port, 'GET', '/admin/queues', auth);
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toContain('text/html');
      // Nothing the page makes the browser load names a host: relative URLs under the <base> only.
      const loaded = [...page.body.matchAll(/<(?:link|script|img|iframe|source)\b[^>]*\b(?:src|href)\s*=\s*["']?([^"'\s>]+)/gi)].map((m) => m[1]);
      expect(loaded.length).toBeGreaterThan(2);
      for (const url of loaded) expect({ url, local: !/^([a-z][a-z0-9+.-]*:)?\/\//i.test(url) }).toEqual({ url, local: true });
      expect(page.body).not.toMatch(/@import|fonts\.googleapis|fonts\.gstatic/i);
      const assets = loaded.filter((u) => u.startsWith('static/'));
      expect(assets.length).toBeGreaterThan(2);
      for (const asset of assets) {
        const res = await raw(api.port, 'GET', `/admin/queues/${asset}`, auth);
        expect({ asset, status: res.status }).toEqual({ asset, status: 200 });
        if (asset.endsWith('.js')) expect(res.headers['content-type']).toMatch(/javascript/);
        if (asset.endsWith('.css')) expect(res.headers['content-type']).toMatch(/text\/css/);
      }
      // Every stylesheet it serves, the ones its scripts load later included: fonts, images and
      // imports from its own origin or data: only.
      const stylesheets = readdirSync(BULL_BOARD_CSS, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.css'));
      expect(stylesheets.length).toBeGreaterThan(1);
      for (const file of stylesheets) {
        const res = await raw(api.port, 'GET', `/admin/queues/static/css/${file}`, auth);
        expect({ file, status: res.status }).toEqual({ file, status: 200 });
        const refs = [...res.body.matchAll(/url\(\s*["']?([^"')]+)|@import\s+["']([^"']+)/gi)].map((m) => m[1] ?? m[2]);
        for (const ref of refs) expect({ file, ref, local: /^data:/i.test(ref) || !/^([a-z][a-z0-9+.-]*:)?\/\//i.test(ref) }).toEqual({ file, ref, local: true });
      }
      const policy = csp(String(page.headers['content-security-policy']));
      for (const directive of ['default-src', 'script-src', 'font-src', 'connect-src', 'worker-src'])
        expect({ directive, sources: policy[directive] }).toEqual({ directive, sources: ["'self'"] });
      // Bull Board's page has style attributes and a <style> block, and its scripts add <style> elements.
      expect(policy['style-src']).toEqual(["'self'", "'unsafe-inline'"]);
      expect(policy['img-src']).toEqual(["'self'", 'data:']);
      expect(policy['frame-ancestors']).toEqual(["'none'"]);
      for (const [directive, sources] of Object.entries(policy)) {
        for (const source of sources)
          expect({ directive, source, foreign: /[a-z0-9-]+\.[a-z]|\/\/|^\*$|^https?:$/i.test(source) }).toEqual({ directive, source, foreign: false });
      }
      const queues = await raw(api.port, 'GET', '/admin/queues/api/queues', auth);
      expect(queues.status).toBe(200);
    });

    it('the queue dashboard in a real browser (headless Chromium): it renders its queues and requests nothing from another host', async () => {
      // The flags keep Chromium's own background fetches (updates, sync) out of the count.
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      });
      try {
        const context = await browser.newContext({ extraHTTPHeaders: auth });
        const page = await context.newPage();
        const origin = `http://127.0.0.1:${api.port}`;
        const requested: string[] = [];
        const refusedByCsp: string[] = [];
        page.on('request', (r) => requested.push(r.url()));
        page.on('console', (m) => {
          if (/Content Security Policy/i.test(m.text())) refusedByCsp.push(m.text());
        });
        await page.goto(`${origin}/admin/queues`, { waitUntil: 'networkidle' });
        await page.getByText(QUEUES.rebuild.name).first().waitFor({ timeout: 15_000 });
        expect(requested.length).toBeGreaterThan(2);
        expect(requested.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('data:'))).toEqual([]);
        expect(refusedByCsp).toEqual([]);
      } finally {
        await browser.close();
      }
    }, 60_000);
  });

  describe('queue dashboard: mutations only from its own origin', () => {
    const basic = { authorization: `Basic ${Buffer.from(`ops:${TOKEN}`).toString('base64')}` };
    const addPath = `/admin/queues/api/queues/${QUEUES.rebuild.name}/add`;
    const jobsIn = async () => await api.app.get(AdminQueues).queues.get('rebuild')!.getJobCounts('waiting', 'delayed', 'prioritized');
    const total = async () => Object.values(await jobsIn()).reduce((a, b) => a + b, 0);

    it('refuses cross-site form and text/plain posts with browser credentials, adding no job (was 200, job added)', async () => {
      const before = await total();
      for (const [contentType, body] of [
        ['application/x-www-form-urlencoded', 'name=evil&data=%7B%7D'],
        ['text/plain', '{"name":"evil","data":{}}'],
        ['application/json', '{"name":"evil","data":{}}'],
      ]) {
        for (const site of [{ origin: 'https://evil.example' }, { origin: 'null' }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }] as Record<
          string,
          string
        >[]) {
          const res = await raw(api.port, 'POST', addPath, { ...basic, ...site, 'content-type': contentType }, body);
          expect({ contentType, site, status: res.status }).toEqual({ contentType, site, status: 403 });
          expect(JSON.parse(res.body)).toEqual({ statusCode: 403, error: 'Forbidden', message: expect.stringContaining('origin') });
        }
      }
      for (const method of ['PUT', 'DELETE', 'PATCH']) {
        const res = await raw(api.port, method, `/admin/queues/api/queues/${QUEUES.rebuild.name}/pause`, { ...basic, origin: 'https://evil.example' });
        expect({ method, status: res.status }).toEqual({ method, status: 403 });
      }
      expect(await total()).toBe(before);
    });

    it('lets the dashboard itself (same origin) and non-browser clients with a token mutate', async () => {
      const before = await total();
      const json = { 'content-type': 'application/json' };
      const body = JSON.stringify({ name: 'from-test', data: {} });
      const sameOrigin = await raw(api.port, 'POST', addPath, { ...basic, ...json, origin: `http://127.0.0.1:${api.port}` }, body);
      expect(sameOrigin.status).toBe(200);
      const fetchMeta = await raw(api.port, 'POST', addPath, { ...basic, ...json, 'sec-fetch-site': 'same-origin' }, body);
      expect(fetchMeta.status).toBe(200);
      const cli = await raw(api.port, 'POST', addPath, { ...auth, ...json }, body);
      expect(cli.status).toBe(200);
      expect(await total()).toBe(before + 3);
      await api.app.get(AdminQueues).queues.get('rebuild')!.obliterate({ force: true });
    });
  });

  describe('failed-authentication rate limiting', () => {
    // Replicas sharing QUEUE_PREFIX share the count (auth-failure-limit.int-spec.ts): each API
    // here gets its own, so one case's failures from 127.0.0.1 do not limit the next.
    let counts = 0;
    const ownCount = (c: AppConfig): AppConfig => ({ ...c, redis: { ...c.redis, queuePrefix: `${c.redis.queuePrefix}-limit${++counts}` } });

    it('answers 429 with Retry-After after repeated wrong tokens from one address, and then even to a right one (was 401 forever)', async () => {
      const limited = await bootApi(ownCount({ ...config, api: { ...config.api, authFailureLimit: 20, authFailureWindowMs: 60_000 } }));
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 300; i++) {
          const wrong = i % 2 === 0 ? { authorization: `Bearer ${'x'.repeat(32)}${i}` } : { authorization: `Basic ${Buffer.from(`u:guess${i}`).toString('base64')}` };
          const path = i % 3 === 0 ? '/admin/queues/api/queues' : '/unified/lms/course-enrollments';
          statuses.push((await raw(limited.port, 'GET', path, wrong)).status);
        }
        expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
        expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
        for (const path of ['/unified/lms/course-enrollments', '/admin/queues']) {
          const res = await raw(limited.port, 'GET', path, auth);
          expect({ path, status: res.status }).toEqual({ path, status: 429 });
          expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
          expect(JSON.parse(res.body)).toEqual({ statusCode: 429, error: 'Too Many Requests', message: expect.any(String) });
        }
        // probes and scrapers are not authenticated and keep working
        expect((await raw(limited.port, 'GET', '/health/live')).status).toBe(200);
        expect((await raw(limited.port, 'GET', '/metrics')).status).toBe(200);
      } finally {
        await limited.close();
      }
    });

    it('believes X-Forwarded-For only from a proxy TRUST_PROXY names', async () => {
      const wrong = { authorization: `Bearer ${'w'.repeat(32)}` };
      const direct = await bootApi(ownCount({ ...config, api: { ...config.api, authFailureLimit: 3, trustProxy: '' } }));
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 5; i++)
          statuses.push((await raw(direct.port, 'GET', '/unified/lms/course-enrollments', { ...wrong, 'x-forwarded-for': `203.0.113.${i}` })).status);
        expect(statuses).toEqual([401, 401, 401, 429, 429]); // a rotating header does not escape the limit
      } finally {
        await direct.close();
      }
      const proxied = await bootApi(ownCount({ ...config, api: { ...config.api, authFailureLimit: 3, trustProxy: 'loopback' } }));
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 4; i++)
          statuses.push((await raw(proxied.port, 'GET', '/unified/lms/course-enrollments', { ...wrong, 'x-forwarded-for': '198.51.100.7' })).status);
        expect(statuses).toEqual([401, 401, 401, 429]);
        expect((await raw(proxied.port, 'GET', '/unified/lms/course-enrollments?limit=1', { ...auth, 'x-forwarded-for': '198.51.100.8' })).status).toBe(200);
      } finally {
        await proxied.close();
      }
    });

    it('does not count requests that carry no credentials or a right token', async () => {
      const limited = await bootApi(ownCount({ ...config, api: { ...config.api, authFailureLimit: 3, authFailureWindowMs: 60_000 } }));
      try {
        for (let i = 0; i < 10; i++) expect((await raw(limited.port, 'GET', '/unified/lms/course-enrollments')).status).toBe(401);
        for (let i = 0; i < 10; i++) expect((await raw(limited.port, 'GET', '/unified/lms/course-enrollments?limit=1', auth)).status).toBe(200);
      } finally {
        await limited.close();
      }
    });
  });

  describe('paging links', () => {
    it('never copies the Host header into next/previous: relative links without PUBLIC_URL', async () => {
      const res = await raw(api.port, 'GET', `/api/v2/course/${COURSE}/users/?limit=5&offset=5`, { ...auth, host: 'evil.example' });
      expect(res.status).toBe(200);
      const body: Json = JSON.parse(res.body);
      expect(body.next).toBe(`/api/v2/course/${COURSE}/users/?statuses=manager%2Cjoined&ordering=-joined_at&limit=5&offset=10`);
      expect(body.previous).toBe(`/api/v2/course/${COURSE}/users/?statuses=manager%2Cjoined&ordering=-joined_at&limit=5&offset=0`);
    });

    it('builds them on PUBLIC_URL when it is set', async () => {
      const pub = await bootApi({ ...config, api: { ...config.api, publicUrl: 'https://lms.example.org/enrollments' } });
      try {
        const res = await raw(pub.port, 'GET', `/api/v2/course/${COURSE}/users/?limit=5&search=hard`, {
          ...auth,
          host: 'evil.example',
          'x-forwarded-host': 'evil.example',
        });
        const body: Json = JSON.parse(res.body);
        expect(body.next).toBe(
          `https://lms.example.org/enrollments/api/v2/course/${COURSE}/users/?statuses=manager%2Cjoined&search=hard&ordering=-joined_at&limit=5&offset=5`,
        );
        expect(body.previous).toBeNull();
      } finally {
        await pub.close();
      }
    });
  });

  describe('readiness', () => {
    it('is ready with no sync worker in the consumer group, and reports the workers in its body (was 503)', async () => {
      const res = await fetch(`${api.base}/health/ready`);
      const body: Json = await res.json();
      expect(res.status).toBe(200);
      expect(body.status).toBe('ok');
      expect(body.checks).toEqual({ postgres: { ok: true }, postgres_read: { ok: true } });
      expect(body.workers.consumer_group).toMatchObject({ group: config.kafka.groupId, members: 0 });
      expect(body.workers.consumer_group.state).not.toBe('Stable');
      expect(body.workers).toHaveProperty('kafka');
      expect(body.workers).toHaveProperty('redis');
    });
  });

  describe('metrics', () => {
    it('measures request durations by method, route pattern and status, never by raw URL', async () => {
      await get(`/api/v2/course/${COURSE}/users/?limit=1`);
      await get('/api/v2/course/999/users/');
      await get(`/unified/lms/course-enrollments/${COURSE}:1`);
      await get(`/unified/lms/course-enrollments/${COURSE}:99999`);
      await get(`/no/such/${Date.now()}`);
      await get(`/admin/queues/api/queues/${QUEUES.replay.name}/jobs/${Date.now()}`);
      const text = await (await fetch(`${api.base}/metrics`)).text();
      const series = text.split('\n').filter((l) => l.startsWith('enrollment_sync_http_request_duration_seconds_count{'));
      const labels = series.map((l) => l.slice(l.indexOf('{'), l.lastIndexOf('}') + 1));
      expect(labels).toEqual(
        expect.arrayContaining([
          '{method="GET",route="/api/v2/course/:courseId/users",status="200"}',
          '{method="GET",route="/api/v2/course/:courseId/users",status="404"}',
          '{method="GET",route="/unified/lms/course-enrollments/:id",status="200"}',
          '{method="GET",route="/unified/lms/course-enrollments/:id",status="404"}',
        ]),
      );
      const routes = new Set(series.map((l) => /route="([^"]*)"/.exec(l)![1]));
      for (const r of routes) expect(r).not.toMatch(/\d{3}|\?/);
      expect(text).toContain('# TYPE enrollment_sync_http_request_duration_seconds histogram');
    });
  });
});
