/**
 * The read API's request log: one line per request with what an operator filters on (method,
 * route pattern, status, duration, request id) and nothing a URL or a header carries (ids,
 * query values, tokens, the client's address). Real HTTP requests against the app, its pino
 * output read line by line.
 */
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '@app/config';
import { LOG_DESTINATION } from '@app/observability';
import { createDataSource, migrateUp } from '@app/persistence';
import { ReadApiModule } from '../../apps/read-api/src/read-api.module';
import { isolatedConfig } from '../support/isolation';

const TOKEN = 'r'.repeat(32);
const WRONG = 'q'.repeat(32);
const COURSE = 918273; // no such course: 404s, whose lines must not name it either
type Line = Record<string, unknown>;

describe('read API request log', () => {
  const config = isolatedConfig({ API_TOKENS: TOKEN, LOG_LEVEL: 'info' });
  const lines: Line[] = [];
  const raw: string[] = [];
  let ds: DataSource;
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    ds = await createDataSource(config.database).initialize();
    await migrateUp(ds, config.database.schema);
    // The logger is built once per process (nestjs-pino's root logger): this is the only app here.
    const destination = {
      write(chunk: string) {
        raw.push(chunk);
        for (const l of chunk.split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      },
    };
    const moduleRef = await Test.createTestingModule({ imports: [ReadApiModule] })
      .overrideProvider(APP_CONFIG)
      .useValue(config)
      .overrideProvider(LOG_DESTINATION)
      .useValue(destination)
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

  const requestLines = () => lines.filter((l) => l.msg === 'request completed' || l.msg === 'request errored');

  it('logs method, route pattern, status, duration and a request id per request, never the URL, its query or a token', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const sent: [string, RequestInit, { method: string; route: string; status: number }][] = [
      [
        `/api/v2/course/${COURSE}/users/?search=Jos%C3%A9%20Secretname&limit=1`,
        { headers: auth },
        { method: 'GET', route: '/api/v2/course/:courseId/users', status: 404 },
      ],
      [
        `/unified/lms/course-enrollments/${COURSE}:4242?access_token=tok-in-query`,
        { headers: { authorization: `Bearer ${WRONG}` } },
        { method: 'GET', route: '/unified/lms/course-enrollments/:id', status: 401 },
      ],
      [`/unified/lms/course-enrollments?course_id=${COURSE}&limit=1`, { headers: auth }, { method: 'GET', route: '/unified/lms/course-enrollments', status: 200 }],
      [
        `/unified/lms/course-enrollments?course_id=${COURSE}`,
        { method: 'POST', headers: auth },
        { method: 'POST', route: '/unified/lms/course-enrollments', status: 405 },
      ],
      [`/no/such/${COURSE}`, { headers: auth }, { method: 'GET', route: 'unmatched', status: 404 }],
      ['/admin/queues/api/queues', { headers: auth }, { method: 'GET', route: '/admin/queues/api/queues', status: 200 }],
    ];
    for (const [path, init, want] of sent) {
      const res = await fetch(`${base}${path}`, init);
      await res.arrayBuffer();
      expect({ path, status: res.status }).toEqual({ path, status: want.status });
    }
    await fetch(`${base}/health/live`); // probes are not logged

    // Each line is written when its response has finished, which the client may see first.
    for (let i = 0; i < 100 && requestLines().length < sent.length; i++) await new Promise((r) => setTimeout(r, 20));
    const got = requestLines();
    expect(got.map((l) => ({ method: l.method, route: l.route, status: l.status }))).toEqual(sent.map(([, , want]) => want));
    for (const l of got) {
      expect(l).toEqual(expect.objectContaining({ level: 30, reqId: expect.stringMatching(/^[0-9a-f-]{36}$/), durationMs: expect.any(Number) }));
      expect(l).not.toHaveProperty('req');
      expect(l).not.toHaveProperty('res');
    }
    expect(new Set(got.map((l) => l.reqId)).size).toBe(got.length);

    const everything = raw.join('');
    for (const secret of [TOKEN, WRONG, 'Secretname', 'tok-in-query']) expect({ secret, logged: everything.includes(secret) }).toEqual({ secret, logged: false });
    const requests = JSON.stringify(got);
    for (const data of [String(COURSE), '4242', 'search', 'limit', '127.0.0.1', 'authorization', 'user-agent']) {
      expect({ data, logged: requests.includes(data) }).toEqual({ data, logged: false });
    }
  });
});
