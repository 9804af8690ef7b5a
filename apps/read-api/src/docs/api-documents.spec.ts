import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { repositoryRoot } from '@app/scripts/generate-asyncapi';
import { openApiDocument } from './openapi';

/**
 * Both API documents pass their official tools: docs/asyncapi.yaml the AsyncAPI parser, the read
 * API's OpenAPI document Redocly's recommended rules (scripts/lint-api-documents.mjs, run in a
 * child process: @redocly/openapi-core is ESM only, which Jest's CommonJS runtime cannot load).
 */
const ROOT = repositoryRoot(__dirname);
type Problem = { severity: string; rule: string; message: string; path: string };
type Report = { asyncapi: Problem[]; openapi: Problem[] };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'api-documents-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function lint(openapi: object, asyncapiPath = join(ROOT, 'docs', 'asyncapi.yaml')): Promise<{ code: number; report: Report }> {
  const openapiPath = join(dir, `openapi-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(openapiPath, JSON.stringify(openapi));
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [join(ROOT, 'scripts', 'lint-api-documents.mjs'), '--asyncapi', asyncapiPath, '--openapi', openapiPath],
      { cwd: ROOT, timeout: 60_000 },
      (err, stdout, stderr) => {
        try {
          resolve({ code: err ? Number(err.code ?? 1) : 0, report: JSON.parse(stdout) as Report });
        } catch {
          reject(new Error(`lint-api-documents printed no report: ${stderr || (err?.message ?? 'no error')}`));
        }
      },
    );
  });
}

const operations = (doc: { paths: Record<string, Record<string, { operationId?: string }>> }) => Object.values(doc.paths).flatMap((ops) => Object.values(ops));

describe('API documents', () => {
  it('the OpenAPI document names each operation once and its server from PUBLIC_URL, else relative', () => {
    const doc = openApiDocument('');
    const ids = operations(doc).map((o) => o.operationId);
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(doc.servers).toEqual([{ url: '/', description: expect.any(String) }]);
    expect(openApiDocument('https://lms.example.org/sync').servers).toEqual([{ url: 'https://lms.example.org/sync', description: 'PUBLIC_URL' }]);
  });

  it('docs/asyncapi.yaml passes @asyncapi/parser and the OpenAPI document Redocly recommended rules (with and without PUBLIC_URL)', async () => {
    for (const publicUrl of ['', 'https://lms.example.org/sync']) {
      const { code, report } = await lint(openApiDocument(publicUrl));
      expect({ publicUrl, report, code }).toEqual({ publicUrl, report: { asyncapi: [], openapi: [] }, code: 0 });
    }
  }, 120_000);

  it('the linters do catch problems: a dangling $ref in AsyncAPI, an operation without operationId in OpenAPI', async () => {
    const asyncapi = parse(readFileSync(join(ROOT, 'docs', 'asyncapi.yaml'), 'utf8'));
    asyncapi.operations.sendCourseEnrollments.channel = { $ref: '#/channels/noSuchChannel' };
    const brokenAsyncapi = join(dir, 'broken-asyncapi.yaml');
    writeFileSync(brokenAsyncapi, stringify(asyncapi));
    const doc = openApiDocument('');
    const { operationId: _dropped, ...withoutId } = doc.paths['/unified/lms/course-enrollments'].get;
    const broken = { ...doc, paths: { ...doc.paths, '/unified/lms/course-enrollments': { get: withoutId } } };
    const { code, report } = await lint(broken, brokenAsyncapi);
    expect(code).toBe(1);
    expect(report.asyncapi.length).toBeGreaterThan(0);
    expect(report.openapi.map((p) => p.rule)).toContain('operation-operationId');
  }, 120_000);
});
