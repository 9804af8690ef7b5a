/**
 * Methods other than GET and HEAD on the read API's routes: 405 with `Allow`, not 404, so a
 * client can tell a wrong method from a wrong path.
 */
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '@app/config';
import { createDataSource, migrateUp } from '@app/persistence';
import { openApiDocument } from '../../apps/read-api/src/docs/openapi';
import { ReadApiModule } from '../../apps/read-api/src/read-api.module';
import { isolatedConfig } from '../support/isolation';

const TOKEN = 'm'.repeat(32);

/**
 * Every route of the read API but the queue dashboard (Bull Board answers its own methods): the
 * documented ones, so a route added to the document is checked too, and the documentation's own.
 */
const ROUTES = [...Object.keys(openApiDocument('').paths).map((p) => p.replace(/\{[^}]+\}/g, '101')), '/docs', '/docs-json', '/docs/assets/swagger-ui.css'];

function send(port: number, method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; allow: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, allow: res.headers.allow, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('read API: methods', () => {
  const config = isolatedConfig({ API_TOKENS: TOKEN, AUTH_FAILURE_LIMIT: '0' });
  let ds: DataSource;
  let app: INestApplication;
  let port: number;

  beforeAll(async () => {
    ds = await createDataSource(config.database).initialize();
    await migrateUp(ds, config.database.schema);
    const moduleRef = await Test.createTestingModule({ imports: [ReadApiModule] })
      .overrideProvider(APP_CONFIG)
      .useValue(config)
      .compile();
    app = moduleRef.createNestApplication();
    await app.listen(0, '127.0.0.1');
    port = (app.getHttpServer().address() as AddressInfo).port;
  });

  afterAll(async () => {
    await app?.close();
    await ds?.query(`DROP SCHEMA IF EXISTS "${config.database.schema}" CASCADE`);
    await ds?.destroy();
  });

  it('answers 405 with Allow: GET, HEAD to any other method on every route, with or without a token', async () => {
    expect(ROUTES.length).toBeGreaterThanOrEqual(10);
    for (const path of ROUTES) {
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PURGE']) {
        for (const headers of [{ authorization: `Bearer ${TOKEN}` }, {}] as Record<string, string>[]) {
          const res = await send(port, method, path, headers);
          expect({ method, path, token: 'authorization' in headers, status: res.status, allow: res.allow }).toEqual({
            method,
            path,
            token: 'authorization' in headers,
            status: 405,
            allow: 'GET, HEAD',
          });
          expect(JSON.parse(res.body)).toEqual({ statusCode: 405, error: 'Method Not Allowed', message: `${method} is not allowed here; use GET or HEAD` });
        }
      }
    }
  });

  it('still answers GET and HEAD on those routes, and 404 on a path that is no route', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await send(port, 'GET', '/unified/lms/course-enrollments', auth)).status).toBe(200);
    expect((await send(port, 'HEAD', '/unified/lms/course-enrollments', auth)).status).toBe(200);
    expect((await send(port, 'GET', '/unified/lms/course-enrollments/101:1', auth)).status).toBe(404);
    expect((await send(port, 'GET', '/health/live')).status).toBe(200);
    expect((await send(port, 'HEAD', '/docs')).status).toBe(200);
    expect((await send(port, 'GET', '/unified/lms/course-enrollments', {})).status).toBe(401);
    for (const method of ['GET', 'DELETE']) {
      const res = await send(port, method, '/no/such/route', auth);
      expect({ method, status: res.status, allow: res.allow }).toEqual({ method, status: 404, allow: undefined });
    }
  });
});
