/**
 * /docs in a browser: the rendered OpenAPI documentation (Swagger UI, served from node_modules,
 * no CDN) and its JSON, open to anyone (the document holds no data), each under a CSP that lets
 * the page load only its own assets.
 */
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import { AppConfig, APP_CONFIG } from '@app/config';
import { ReadApiModule } from '../../apps/read-api/src/read-api.module';
import { isolatedConfig } from '../support/isolation';

const TOKEN = 'd'.repeat(32);
type Json = any;
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

async function boot(config: AppConfig): Promise<{ app: INestApplication; base: string }> {
  const moduleRef = await Test.createTestingModule({ imports: [ReadApiModule] })
    .overrideProvider(APP_CONFIG)
    .useValue(config)
    .compile();
  const app = moduleRef.createNestApplication();
  await app.listen(0, '127.0.0.1');
  return { app, base: `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}` };
}

/** Every URL an HTML page makes the browser load or link to (src, href, data-document). */
const referencedUrls = (html: string): string[] => [...html.matchAll(/\s(?:src|href|data-document)="([^"]*)"/g)].map((m) => m[1]);

/** The CSP as directive -> sources. */
const csp = (header: string | null): Record<string, string[]> =>
  Object.fromEntries(
    String(header)
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name, ...sources]) => [name, sources]),
  );

describe('read API documentation in a browser (/docs)', () => {
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    ({ app, base } = await boot(isolatedConfig({ API_TOKENS: TOKEN })));
  });
  afterAll(async () => {
    await app?.close();
  });

  it('GET /docs with Accept: text/html and no credentials is a 200 HTML page whose assets are all local and load', async () => {
    const page = await fetch(`${base}/docs`, { headers: { accept: BROWSER_ACCEPT } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    const urls = referencedUrls(html);
    expect(urls).toEqual(expect.arrayContaining(['/docs/assets/swagger-ui-bundle.js', '/docs/assets/swagger-ui.css', '/docs-json']));
    for (const url of urls) expect({ url, local: /^\/(?!\/)/.test(url) }).toEqual({ url, local: true }); // no scheme, no //host
    for (const url of urls) {
      const res = await fetch(`${base}${url}`, { headers: { accept: '*/*' } });
      expect({ url, status: res.status }).toEqual({ url, status: 200 });
      const type = res.headers.get('content-type') ?? '';
      if (url.endsWith('.js')) expect({ url, type }).toEqual({ url, type: expect.stringMatching(/^text\/javascript/) });
      if (url.endsWith('.css')) expect({ url, type }).toEqual({ url, type: expect.stringMatching(/^text\/css/) });
      if (url.endsWith('.js') || url.endsWith('.css')) expect((await res.text()).length).toBeGreaterThan(100);
    }
    const bundle = await (await fetch(`${base}/docs/assets/swagger-ui-bundle.js`)).text();
    expect(bundle).toContain('SwaggerUIBundle');
    const init = await (await fetch(`${base}/docs/assets/docs-init.js`)).text();
    expect(init).toContain('SwaggerUIBundle(');
    expect(init).toContain('data-document');
    expect(init).toContain('validatorUrl: null'); // no badge fetched from validator.swagger.io
  });

  it("gives the page a CSP that allows its own scripts and styles only, and keeps the API's strict one on the JSON", async () => {
    const page = await fetch(`${base}/docs`, { headers: { accept: BROWSER_ACCEPT } });
    const policy = csp(page.headers.get('content-security-policy'));
    expect(policy['default-src']).toEqual(["'none'"]);
    expect(policy['script-src']).toEqual(["'self'"]); // no inline script, no eval, no CDN
    expect(policy['style-src']).toEqual(["'self'", "'unsafe-inline'"]);
    expect(policy['connect-src']).toEqual(["'self'"]);
    expect(policy['frame-ancestors']).toEqual(["'none'"]);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    const html = await page.text();
    expect(html).not.toMatch(/<script>|<script [^>]*>[^<]/); // every script is a local file
    const json = await fetch(`${base}/docs-json`);
    expect(csp(json.headers.get('content-security-policy'))['default-src']).toEqual(["'none'"]);
    expect(csp(json.headers.get('content-security-policy'))['script-src']).toBeUndefined();
  });

  it('serves the OpenAPI JSON openly, with servers and operation ids; API routes still need the token', async () => {
    const res = await fetch(`${base}/docs-json`);
    expect(res.status).toBe(200);
    const doc: Json = await res.json();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers).toEqual([{ url: '/', description: expect.any(String) }]);
    expect(doc.paths['/unified/lms/course-enrollments'].get.operationId).toBe('listCourseEnrollments');
    expect((await fetch(`${base}/unified/lms/course-enrollments`)).status).toBe(401);
  });

  it('answers 400 to an undeclared parameter and 404 to an asset it does not serve', async () => {
    for (const path of ['/docs?url=https://evil.example/x.json', '/docs-json?x=1', '/docs/assets/swagger-ui.css?v=1']) {
      const res = await fetch(`${base}${path}`);
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
      expect(((await res.json()) as Json).message).toMatch(/unknown parameter/);
    }
    for (const path of ['/docs/assets/package.json', '/docs/assets/..%2Fpackage.json', '/docs/assets/index.html']) {
      expect({ path, status: (await fetch(`${base}${path}`)).status }).toEqual({ path, status: 404 });
    }
  });

  it('behind PUBLIC_URL with a path prefix, links the assets and the document under the prefix', async () => {
    const prefixed = await boot(isolatedConfig({ API_TOKENS: TOKEN, PUBLIC_URL: 'https://lms.example.org/sync/' }));
    try {
      const html = await (await fetch(`${prefixed.base}/docs`, { headers: { accept: BROWSER_ACCEPT } })).text();
      expect(referencedUrls(html)).toEqual(expect.arrayContaining(['/sync/docs/assets/swagger-ui-bundle.js', '/sync/docs-json']));
      for (const url of referencedUrls(html)) expect(url.startsWith('/sync/')).toBe(true);
      const doc: Json = await (await fetch(`${prefixed.base}/docs-json`)).json();
      expect(doc.servers).toEqual([{ url: 'https://lms.example.org/sync', description: 'PUBLIC_URL' }]);
    } finally {
      await prefixed.app.close();
    }
  });
});
