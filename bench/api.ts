/**
 * Read API benchmark at real course sizes (see docs/performance.md, "Read API").
 *
 *   npm run bench:api [-- --members 100000 --enrollments 1000000 --duration 10 --clients 16,64]
 *
 * Seeds one course of `--members` members and `--enrollments` enrollments overall through the
 * projection's own write path (input events → decodeMessage → InputApplier, in large slices, two
 * at a time) into an isolated schema, then starts the read API as deployed and measures every
 * read route with autocannon at each client count, next to `/health/live` as the box's ceiling.
 * Prints req/s and p50 / p95 / p99 per route with the ratio to the ceiling, and the targets met
 * or missed; writes results.json and chart.svg to bench-results/api-<timestamp>/.
 */
import { createServer } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { DataSource } from 'typeorm';
import { decodeMessage, InputEvent } from '@app/contracts';
import { JOIN_STATUSES } from '@app/domain';
import { isLockConflict } from '@app/messaging';
import { createDataSource, memberPageQuery, migrateUp } from '@app/persistence';
import { createProjection, InputApplier } from '@app/projection';
import { clock, events, InputMessage } from '@app/workload';
import { isolatedRun } from './env';
import { machineCpu, sleep, WorkerChild } from './infra';
import { barChartSvg, percentile, table } from './report';

// autocannon ships no types; this is the part of its API used here (README, "API").
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon: (opts: object) => AutocannonInstance = require('autocannon');
interface AutocannonInstance extends PromiseLike<{ requests: { average: number }; non2xx: number; errors: number; duration: number }> {
  on(event: 'response', cb: (client: unknown, status: number, bytes: number, ms: number) => void): void;
}

const READ_API = resolve(__dirname, '../apps/read-api/src/main.js');
const TOKEN = 'bench-api-token-0123456789abcdef';
const BIG = 1;

function args() {
  const a = process.argv.slice(2);
  const value = (name: string) => {
    const i = a.indexOf(`--${name}`);
    return i < 0 ? undefined : a[i + 1];
  };
  const num = (name: string, def: number) => {
    const v = value(name);
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} needs a positive integer`);
    return n;
  };
  const members = num('members', 100_000);
  const enrollments = num('enrollments', 1_000_000);
  if (enrollments < members) throw new Error('--enrollments must be at least --members');
  const clients = (value('clients') ?? '16,64').split(',').map(Number);
  if (clients.some((c) => !Number.isInteger(c) || c <= 0)) throw new Error('--clients needs positive integers, e.g. 16,64');
  return {
    members,
    enrollments,
    /** Members of each other course. */
    courseSize: num('course-size', 1000),
    users: num('users', Math.max(members, Math.ceil(enrollments / 5))),
    duration: num('duration', 10),
    warmup: num('warmup', 2),
    slice: num('slice', 2000),
    clients,
    keep: a.includes('--keep'),
  };
}
type Options = ReturnType<typeof args>;

const log = (msg: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
const fmt = (n: number | undefined, d = 0) =>
  n === undefined || !Number.isFinite(n) ? 'n/a' : n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
/** A fixed spread of numbers from a seed (no state, so any generator can be restarted). */
const hash = (n: number) => {
  let x = Math.imul(n ^ 0x9e3779b9, 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
};

/** The seed's input log, in the order an upstream would send it: structure, people, progress. */
function* seedLog(o: Options): Generator<InputMessage> {
  const t = clock('2026-06-01T00:00:00.000Z');
  let seq = 0;
  const m = () => ({ time: t(1), id: `seed-${++seq}`, source: '/bench-api' });
  const otherCourses = Math.ceil((o.enrollments - o.members) / o.courseSize);
  const lessonsOf = (c: number) => (c === BIG ? 10 : 2);
  for (let c = BIG; c <= BIG + otherCourses; c++) {
    yield events.courseUpserted({ id: c, name: c === BIG ? 'The big course' : `Course ${c}`, slug: `course-${c}`, privacy: 'open' }, m());
    yield events.sectionUpserted(c, { id: c * 10, name: 'Section', position: 1 }, m());
    for (let l = 1; l <= lessonsOf(c); l++) {
      yield events.lessonUpserted(c, { id: c * 100 + l, section_id: c * 10, name: `Lesson ${l}`, status: 'published', position: l }, m());
    }
  }
  for (let u = 1; u <= o.users; u++) {
    yield events.userUpserted({ id: u, username: `user${u}`, real_name: `Learner ${hash(u) % 100_000} ${u}`, avatar: null, emails: [] }, m());
  }
  for (let u = 1; u <= o.members; u++) {
    const r = hash(u) % 100;
    const join_status = r === 0 ? 'manager' : r === 1 ? 'invited' : r === 2 ? 'requested' : 'joined';
    yield events.membershipChanged({ course_id: BIG, user_id: u, join_status }, m());
  }
  let left = o.enrollments - o.members;
  for (let c = BIG + 1; left > 0; c++) {
    for (let i = 0; i < o.courseSize && left > 0; i++, left--) {
      // Distinct users per course: 104729 is prime, so i * 104729 mod users differs for each i.
      const user = ((c * 7919 + i * 104_729) % o.users) + 1;
      yield events.membershipChanged({ course_id: c, user_id: user, join_status: 'joined' }, m());
    }
  }
  // Progress in the big course, so rates and last activity vary (some members have none).
  for (let u = 1; u <= o.members; u++) {
    for (let l = 1; l <= hash(u * 31) % 4; l++) {
      yield events.lessonCompleted({ course_id: BIG, lesson_id: BIG * 100 + l, user_id: u, time_spent_seconds: 60 }, m());
    }
  }
}

async function seed(ds: DataSource, applier: InputApplier, o: Options, topics: Parameters<typeof decodeMessage>[1]): Promise<{ events: number; seconds: number }> {
  const started = performance.now();
  let total = 0;
  let lastLog = started;
  const applySlice = async (slice: InputEvent[]) => {
    for (;;) {
      try {
        await applier.apply(slice);
        return;
      } catch (err) {
        if (!isLockConflict(err)) throw err; // rolled back whole: run it again, as the consumer does
      }
    }
  };
  let slice: InputEvent[] = [];
  let inFlight: Promise<void>[] = [];
  let kind = '';
  for (const msg of seedLog(o)) {
    // Each kind of fact in its own slices, so that slices in flight together do not race on
    // the same enrollments (people before their progress).
    if (msg.topic !== kind && inFlight.length > 0) {
      if (slice.length > 0) inFlight.push(applySlice(slice));
      slice = [];
      await Promise.all(inFlight);
      inFlight = [];
    }
    kind = msg.topic;
    const r = decodeMessage({ topic: topics[msg.topic], key: Buffer.from(msg.key), value: Buffer.from(msg.value) }, topics);
    if (!r.ok) throw new Error(`seed message is invalid: ${r.reason}`);
    slice.push(r.event);
    total++;
    if (slice.length >= o.slice) {
      inFlight.push(applySlice(slice));
      slice = [];
      if (inFlight.length >= 2) await inFlight.shift();
    }
    if (performance.now() - lastLog > 15_000) {
      lastLog = performance.now();
      log(`seed: ${fmt(total)} events (${fmt(total / ((lastLog - started) / 1000))}/s)`);
    }
  }
  if (slice.length > 0) inFlight.push(applySlice(slice));
  await Promise.all(inFlight);
  const seconds = (performance.now() - started) / 1000;
  const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM enrollments WHERE NOT deleted`);
  log(`seed: ${fmt(total)} events in ${fmt(seconds, 1)} s (${fmt(total / seconds)}/s): ${fmt(n)} enrollments`);
  return { events: total, seconds };
}

const freePort = () =>
  new Promise<number>((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });

interface Route {
  name: string;
  /** byId and firstPage routes have the ≥ 50 % of the ceiling target. */
  kind: 'ceiling' | 'byId' | 'firstPage' | 'deep' | 'other';
  path: string | (() => string);
  headers?: Record<string, string>;
}

interface Measured {
  route: string;
  kind: Route['kind'];
  clients: number;
  reqPerSec: number;
  p50: number;
  p95: number;
  p99: number;
  requests: number;
  /** Answers other than 200 and 304, and connection errors. */
  failures: number;
  ratioToCeiling?: number;
}

async function measure(base: string, route: Route, clients: number, seconds: number, record = true): Promise<Measured> {
  const latencies: number[] = [];
  let failures = 0;
  const path = route.path;
  const instance = autocannon({
    url: base,
    connections: clients,
    duration: seconds,
    headers: { authorization: `Bearer ${TOKEN}`, ...route.headers },
    requests: [{ method: 'GET', setupRequest: (req: { path: string }) => ({ ...req, path: typeof path === 'function' ? path() : path }) }],
  });
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status !== 200 && status !== 304) failures++;
    latencies.push(ms);
  });
  const result = await instance;
  failures += result.errors;
  latencies.sort((a, b) => a - b);
  const m: Measured = {
    route: route.name,
    kind: route.kind,
    clients,
    reqPerSec: latencies.length / result.duration,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    requests: latencies.length,
    failures,
  };
  if (record)
    log(
      `${route.name} @${clients}: ${fmt(m.reqPerSec)} req/s, p50 ${fmt(m.p50, 1)} / p95 ${fmt(m.p95, 1)} / p99 ${fmt(m.p99, 1)} ms${failures ? `, ${failures} FAILED` : ''}`,
    );
  return m;
}

async function getJson(base: string, path: string): Promise<{ status: number; etag: string | null; body: never }> {
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: res.status, etag: res.headers.get('etag'), body: (await res.json()) as never };
}

/**
 * The plan of a member-list page at `offset`: bounded by the index when nothing under its LIMIT
 * sorts (a sort there would be of the course; the 20 joined rows above it may be sorted).
 */
async function offsetPlan(ds: DataSource, offset: number): Promise<{ nodes: string[]; sortsCourse: boolean; heapFetches: number; ms: number }> {
  const statuses = [...JOIN_STATUSES];
  const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM enrollments WHERE course_id = $1 AND NOT deleted AND join_status = ANY($2)`, [BIG, statuses]);
  const { sql, params } = memberPageQuery({ courseId: BIG, statuses, ordering: '-joined_at', limit: 20, offset }, n);
  const [
    {
      'QUERY PLAN': [plan],
    },
  ] = await ds.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params);
  const nodes: string[] = [];
  let heapFetches = 0;
  let sortsCourse = false;
  const walk = (n: Record<string, unknown>, underLimit: boolean) => {
    const type = String(n['Node Type']);
    nodes.push(`${type}${n['Index Name'] ? ` (${n['Index Name'] as string})` : ''}`);
    if (underLimit && type === 'Sort') sortsCourse = true;
    heapFetches += Number(n['Heap Fetches'] ?? 0);
    for (const c of (n['Plans'] as Record<string, unknown>[] | undefined) ?? []) walk(c, underLimit || type === 'Limit');
  };
  walk(plan['Plan'], false);
  return { nodes: [...new Set(nodes)], sortsCourse, heapFetches, ms: Number(plan['Execution Time']) };
}

async function main(): Promise<void> {
  const o = args();
  const ts = new Date().toISOString().replace(/[:.]/g, '-');
  const outDir = resolve('bench-results', `api-${ts}`);
  mkdirSync(outDir, { recursive: true });
  log(`results in ${outDir}`);
  const port = await freePort();
  const run = isolatedRun({ API_PORT: String(port), API_TOKENS: TOKEN, LOG_LEVEL: 'warn' });
  const ds = createDataSource({ ...run.config.database, poolSize: 4 }, { applicationName: 'bench-api' });
  await ds.initialize();
  let api: WorkerChild | undefined;
  try {
    await migrateUp(ds, run.config.database.schema);
    log(`seeding schema ${run.config.database.schema}: course ${BIG} with ${fmt(o.members)} members, ${fmt(o.enrollments)} enrollments, ${fmt(o.users)} users`);
    const seeded = await seed(ds, createProjection(ds, run.config.courseUrlTemplate).applier, o, run.config.topics);
    // What autovacuum would do after a bulk load: statistics, and the visibility map that lets
    // the member indexes be read without visiting the table.
    for (const t of ['enrollments', 'user_facts', 'course_member_stats', 'course_member_stat_deltas']) await ds.query(`VACUUM (ANALYZE) ${t}`);

    api = new WorkerChild(READ_API, run.env, { logFile: join(outDir, 'read-api.log') });
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      if (api.exited) throw new Error(`read API exited with ${api.exitCode} (see ${join(outDir, 'read-api.log')})`);
      if ((await fetch(`${base}/health/live`).catch(() => undefined))?.ok) break;
      if (i > 240) throw new Error('read API did not answer /health/live within 60 s');
      await sleep(250);
    }

    // Where the routes point: ids of the big course, the cursor of its 1000th page of 100.
    const memberIds = (await ds.query(`SELECT user_id FROM enrollments WHERE course_id = $1 AND NOT deleted ORDER BY user_id`, [BIG])).map(
      (r: { user_id: number }) => r.user_id,
    );
    const pick = () => memberIds[Math.floor(Math.random() * memberIds.length)];
    const course = `/unified/lms/course-enrollments?course_id=${BIG}`;
    let cursor: string | null = null;
    const pageOf100 = 1000;
    for (let rows = 0; rows < (pageOf100 - 1) * 100;) {
      const size = rows + 1000 <= (pageOf100 - 1) * 100 ? 1000 : 100;
      const p = await getJson(base, `${course}&limit=${size}${cursor ? `&next_cursor=${encodeURIComponent(cursor)}` : ''}`);
      cursor = (p.body as { next_cursor: string | null }).next_cursor;
      rows += size;
      if (!cursor) break;
    }
    const deepPage = cursor ? `${course}&limit=100&next_cursor=${encodeURIComponent(cursor)}` : undefined;
    const fixed = `${BIG}:${memberIds[Math.floor(memberIds.length / 2)]}`;
    const fixedTag = (await getJson(base, `/unified/lms/course-enrollments/${fixed}`)).etag ?? '';
    const all = 'statuses=creator,manager,joined,invited,requested';
    const users = `/api/v2/course/${BIG}/users/`;
    const routes: Route[] = [
      { name: '/health/live (ceiling)', kind: 'ceiling', path: '/health/live' },
      { name: 'unified by id', kind: 'byId', path: () => `/unified/lms/course-enrollments/${BIG}:${pick()}` },
      { name: 'unified by id, If-None-Match (304)', kind: 'byId', path: `/unified/lms/course-enrollments/${fixed}`, headers: { 'if-none-match': fixedTag } },
      { name: 'unified list, course, page 1 (limit 100)', kind: 'firstPage', path: `${course}&limit=100` },
      ...(deepPage ? [{ name: `unified list, course, page ${pageOf100} (limit 100)`, kind: 'deep' as const, path: deepPage }] : []),
      { name: 'unified list, all, page 1 (limit 100)', kind: 'firstPage', path: '/unified/lms/course-enrollments?limit=100' },
      { name: 'course user detail (?user=)', kind: 'byId', path: () => `/api/v2/course/${BIG}/?user=${pick()}` },
      { name: 'course dashboard (?view=dashboard)', kind: 'byId', path: `/api/v2/course/${BIG}/?view=dashboard` },
      { name: 'users, page 1 (limit 20)', kind: 'firstPage', path: `${users}?limit=20` },
      { name: 'users, last_active_at, page 1', kind: 'firstPage', path: `${users}?limit=20&ordering=last_active_at` },
      { name: 'users, all statuses, offset 0', kind: 'firstPage', path: `${users}?limit=20&offset=0&${all}` },
      { name: 'users, all statuses, offset 10,000', kind: 'deep', path: `${users}?limit=20&offset=10000&${all}` },
      { name: `users, all statuses, offset ${fmt(Math.max(0, o.members - 20))}`, kind: 'deep', path: `${users}?limit=20&offset=${Math.max(0, o.members - 20)}&${all}` },
      { name: 'users, search=zzz', kind: 'other', path: `${users}?limit=20&search=zzz` },
      { name: 'users, search=user4242', kind: 'other', path: `${users}?limit=20&search=user4242` },
    ];
    for (const r of routes) {
      const p = typeof r.path === 'function' ? r.path() : r.path;
      const res = await fetch(`${base}${p}`, { headers: { authorization: `Bearer ${TOKEN}`, ...r.headers } });
      if (res.status !== 200 && res.status !== 304) throw new Error(`${r.name}: ${p} answered ${res.status} ${await res.text()}`);
    }

    const load0 = loadavg();
    const cpu0 = machineCpu();
    const results: Measured[] = [];
    for (const clients of o.clients) {
      let ceiling = 0;
      for (const r of routes) {
        await measure(base, r, clients, o.warmup, false);
        const m = await measure(base, r, clients, o.duration);
        if (r.kind === 'ceiling') ceiling = m.reqPerSec;
        m.ratioToCeiling = ceiling > 0 ? m.reqPerSec / ceiling : undefined;
        results.push(m);
      }
    }
    const cpu1 = machineCpu();
    const load1 = loadavg();
    const plans = [0, 10_000, Math.max(0, o.members - 20)].map((offset) => ({ offset }));
    const planResults = [];
    for (const p of plans) planResults.push({ ...p, ...(await offsetPlan(ds, p.offset)) });

    // Targets (16 clients, or the first client count given).
    const at = o.clients.includes(16) ? 16 : o.clients[0];
    const row = (name: string) => results.find((r) => r.clients === at && r.route === name);
    const measuredAt = results.filter((r) => r.clients === at && r.kind !== 'ceiling');
    const firstPage = row('unified list, course, page 1 (limit 100)');
    const page1000 = deepPage ? row(`unified list, course, page ${pageOf100} (limit 100)`) : undefined;
    const targets = [
      ...measuredAt.map((r) => ({
        name: `p99 < 50 ms: ${r.route}`,
        met: r.p99 < 50 && r.failures === 0,
        why: `p99 ${fmt(r.p99, 1)} ms${r.failures ? `, ${r.failures} failed` : ''}`,
      })),
      ...measuredAt
        .filter((r) => r.kind === 'byId' || r.kind === 'firstPage')
        .map((r) => ({
          name: `≥ 50% of /health/live: ${r.route}`,
          met: (r.ratioToCeiling ?? 0) >= 0.5,
          why: `${fmt((r.ratioToCeiling ?? 0) * 100, 1)}% (${fmt(r.reqPerSec)} of ${fmt(row('/health/live (ceiling)')?.reqPerSec)} req/s)`,
        })),
      {
        name: `unified page ${pageOf100} within 2× page 1`,
        met: firstPage && page1000 ? firstPage.reqPerSec / page1000.reqPerSec <= 2 : null,
        why:
          firstPage && page1000
            ? `cost ratio ${fmt(firstPage.reqPerSec / page1000.reqPerSec, 2)} (req/s ${fmt(firstPage.reqPerSec)} vs ${fmt(page1000.reqPerSec)}; p50 ${fmt(firstPage.p50, 1)} vs ${fmt(page1000.p50, 1)} ms)`
            : 'course smaller than 1000 pages of 100',
      },
      ...planResults.map((p) => ({
        name: `users offset ${fmt(p.offset)} bounded by the index`,
        met: !p.sortsCourse && !p.nodes.some((n) => n.startsWith('Seq Scan')),
        why: `${p.nodes.join(' → ')}; heap fetches ${fmt(p.heapFetches)}; ${fmt(p.ms, 1)} ms in Postgres`,
      })),
    ];

    const mach = { cores: cpus().length, cpu: cpus()[0]?.model, ramGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10, node: process.version };
    const busy = (cpu1.busy - cpu0.busy) / (cpu1.total - cpu0.total);
    const out = {
      timestamp: new Date().toISOString(),
      options: o,
      machine: mach,
      load: { before: load0, after: load1, machineBusyShare: busy },
      seed: seeded,
      results,
      deepOffsetPlans: planResults,
      targets,
    };
    writeFileSync(join(outDir, 'results.json'), JSON.stringify(out, null, 2));
    writeFileSync(
      join(outDir, 'chart.svg'),
      barChartSvg(
        `Read API, ${fmt(o.members)}-member course, ${at} clients: req/s per route (line: /health/live)`,
        measuredAt.map((r) => ({ label: r.route, value: r.reqPerSec, note: `p99 ${fmt(r.p99, 1)} ms` })),
        row('/health/live (ceiling)')?.reqPerSec,
      ),
    );

    const mark = (m: boolean | null) => (m === null ? 'not measured' : m ? 'met' : 'MISSED');
    console.log('');
    console.log(
      `machine: ${mach.cores} cores (${mach.cpu}), ${mach.ramGiB} GiB RAM, Node ${mach.node}; load average ${load0.map((l) => l.toFixed(1)).join(' ')} before, ${load1.map((l) => l.toFixed(1)).join(' ')} after; machine ${fmt(busy * 100)}% busy while measuring`,
    );
    console.log(`seed: ${fmt(seeded.events)} events through the projection in ${fmt(seeded.seconds, 1)} s`);
    for (const clients of o.clients) {
      console.log(`\n${clients} clients, ${o.duration} s per route:`);
      console.log(
        tableOf([
          ['route', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', '× ceiling'],
          ...results
            .filter((r) => r.clients === clients)
            .map((r) => [r.route, fmt(r.reqPerSec), fmt(r.p50, 1), fmt(r.p95, 1), fmt(r.p99, 1), r.kind === 'ceiling' ? '1.00' : fmt(r.ratioToCeiling, 2)]),
        ]),
      );
    }
    console.log(`\ntargets (${at} clients):`);
    console.log(table(targets.map((t) => [t.name, mark(t.met), t.why])));
    console.log(`\nwrote ${join(outDir, 'results.json')} and ${join(outDir, 'chart.svg')}`);
  } finally {
    await api?.stop();
    if (!o.keep)
      await ds.query(`DROP SCHEMA IF EXISTS "${run.config.database.schema}" CASCADE`).catch((err) => console.error(`dropping the schema failed: ${err.message}`));
    else log(`kept schema ${run.config.database.schema}`);
    await ds.destroy();
  }
}

/** Columns padded to their widest cell; numbers right-aligned. */
function tableOf(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')).join('\n');
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
