/**
 * The failed-authentication limit across read API replicas: two apps on one Redis and one
 * QUEUE_PREFIX (as the prod overlay's replicas are) count an address's failures together, in one
 * expiring key per address; while Redis does not answer or is full, each falls back to its own
 * count, says so in its log, and still serves right tokens.
 */
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { AppConfig, APP_CONFIG } from '@app/config';
import { LOG_DESTINATION } from '@app/observability';
import { createDataSource, migrateUp } from '@app/persistence';
import { ReadApiModule } from '../../apps/read-api/src/read-api.module';
import { isolatedConfig } from '../support/isolation';
import { fillToOom, startThrowawayRedis, ThrowawayRedis } from '../support/throwaway-redis';

const TOKEN = 'l'.repeat(32);
const LIMIT = 4;
const WINDOW_MS = 60_000;
type Line = Record<string, unknown>;

interface Api {
  app: INestApplication;
  port: number;
}

function get(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'GET', path, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('failed-authentication limit shared by read API replicas', () => {
  // TRUST_PROXY: every request comes from 127.0.0.1; X-Forwarded-For names the address counted.
  const config = isolatedConfig({
    API_TOKENS: TOKEN,
    AUTH_FAILURE_LIMIT: String(LIMIT),
    AUTH_FAILURE_WINDOW_MS: String(WINDOW_MS),
    TRUST_PROXY: 'loopback',
    LOG_LEVEL: 'info',
  });
  const lines: Line[] = [];
  const destination = {
    write: (chunk: string) =>
      chunk
        .split('\n')
        .filter(Boolean)
        .forEach((l) => lines.push(JSON.parse(l))),
  };
  const apps: Api[] = [];
  let ds: DataSource;
  let redis: Redis;

  const boot = async (c: AppConfig): Promise<Api> => {
    // nestjs-pino builds one logger per process, with the first app's destination: every app
    // here logs into `lines`.
    const moduleRef = await Test.createTestingModule({ imports: [ReadApiModule] })
      .overrideProvider(APP_CONFIG)
      .useValue(c)
      .overrideProvider(LOG_DESTINATION)
      .useValue(destination)
      .compile();
    const app = moduleRef.createNestApplication();
    await app.listen(0, '127.0.0.1');
    const api = { app, port: (app.getHttpServer().address() as AddressInfo).port };
    apps.push(api);
    return api;
  };
  const guess = (api: Api, from: string, i: number) =>
    get(api.port, '/unified/lms/course-enrollments?limit=1', { authorization: `Bearer ${'g'.repeat(31)}${i}`, 'x-forwarded-for': from });
  const right = (api: Api, from: string) => get(api.port, '/unified/lms/course-enrollments?limit=1', { authorization: `Bearer ${TOKEN}`, 'x-forwarded-for': from });

  beforeAll(async () => {
    ds = await createDataSource(config.database).initialize();
    await migrateUp(ds, config.database.schema);
    redis = new Redis(config.redis.url);
  });

  afterAll(async () => {
    for (const api of apps) await api.app.close();
    const keys = await redis.keys(`${config.redis.queuePrefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await ds?.query(`DROP SCHEMA IF EXISTS "${config.database.schema}" CASCADE`);
    await ds?.destroy();
  });

  it('limits an address to AUTH_FAILURE_LIMIT per window over all replicas together, in one expiring key (was the limit per replica)', async () => {
    const [a, b] = [await boot(config), await boot(config)];
    const from = '198.51.100.10';
    const statuses: number[] = [];
    for (let i = 0; i < 2 * LIMIT; i++) statuses.push((await guess(i % 2 === 0 ? a : b, from, i)).status);
    expect(statuses).toEqual([...Array(LIMIT).fill(401), ...Array(LIMIT).fill(429)]);
    for (const api of [a, b]) {
      const res = await right(api, from);
      expect(res.status).toBe(429);
      expect(Number(res.retryAfter)).toBeGreaterThan(0);
      expect(Number(res.retryAfter)).toBeLessThanOrEqual(WINDOW_MS / 1000);
    }
    for (const api of [a, b]) expect((await right(api, '198.51.100.11')).status).toBe(200);

    // One key for the address, under the queue prefix, expiring with its window, naming no address.
    const keys = await redis.keys(`${config.redis.queuePrefix}:auth-failures:*`);
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toContain('198.51.100');
    expect(await redis.get(keys[0])).toBe(String(LIMIT));
    const ttl = await redis.pttl(keys[0]);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(WINDOW_MS);
  });

  it("falls back to the replica's own count while Redis does not answer, logs it, and still serves right tokens", async () => {
    let own: ThrowawayRedis | undefined = await startThrowawayRedis({ maxmemory: '64mb' });
    try {
      const c = await boot({ ...config, redis: { ...config.redis, url: own.url } });
      expect((await guess(c, '198.51.100.20', 0)).status).toBe(401); // counted in Redis
      await own.stop();
      own = undefined;
      const statuses: number[] = [];
      for (let i = 1; i <= LIMIT + 2; i++) statuses.push((await guess(c, '198.51.100.20', i)).status);
      // Never open: the replica's own count (it saw every failure) limits as before.
      expect(statuses).toEqual([...Array(LIMIT - 1).fill(401), ...Array(3).fill(429)]);
      // Never closed to everyone: another address with the right token is served.
      expect((await right(c, '198.51.100.21')).status).toBe(200);
      const warnings = lines.filter((l) => l.level === 40 && /they are limited per process/.test(String(l.msg)));
      expect(warnings).toHaveLength(1); // once per outage, not once per request
      expect(warnings[0]).toEqual(expect.objectContaining({ context: 'Authenticator', err: expect.any(String) }));
    } finally {
      await own?.stop();
    }
  });

  it('keeps limiting on its own count while Redis answers reads but refuses the count (maxmemory, noeviction)', async () => {
    const full = await startThrowawayRedis({ maxmemory: '8mb' });
    try {
      const c = await boot({ ...config, redis: { ...config.redis, url: full.url } });
      await fillToOom(full.admin);
      const statuses: number[] = [];
      for (let i = 0; i < LIMIT + 2; i++) statuses.push((await guess(c, '198.51.100.30', i)).status);
      expect(statuses).toEqual([...Array(LIMIT).fill(401), 429, 429]);
      expect((await right(c, '198.51.100.31')).status).toBe(200);
    } finally {
      await full.stop();
    }
  });
});
