// Checks the service's two API documents with their official tools, without network access:
//   docs/asyncapi.yaml (or --asyncapi <file>)  with @asyncapi/parser (errors and warnings)
//   --openapi <file.json>                      with Redocly's `recommended` rules (@redocly/openapi-core)
// Prints one JSON object { asyncapi: [...], openapi: [...] } (each problem: severity, rule,
// message, path) and exits 1 when any problem is found. The unit suite runs it (libs/contracts
// and apps/read-api specs); it is a plain ESM script because @redocly/openapi-core ships ESM only.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Parser } from '@asyncapi/parser';
import { createConfig, lintFromString } from '@redocly/openapi-core';

/**
 * Rules of Redocly's `recommended` set waived for the read API (also listed in the README):
 * - no-path-trailing-slash: the community paths (`/api/v2/course/{course_id}/`, `.../users/`) are
 *   the community API's own, trailing slash included (api.md); clients call them as they are.
 * - operation-4xx-response: /health/live, /health/ready and /metrics are for probes and
 *   Prometheus and answer no 4xx; every API operation does declare its 4xx responses.
 * - info-license: the service is UNLICENSED (package.json); its API is published under no licence.
 */
const WAIVED_OPENAPI_RULES = { 'no-path-trailing-slash': 'off', 'operation-4xx-response': 'off', 'info-license': 'off' };

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const root = join(import.meta.dirname, '..');
const asyncapiPath = option('asyncapi') ?? join(root, 'docs', 'asyncapi.yaml');
const openapiPath = option('openapi');

const SEVERITY = ['error', 'warning', 'information', 'hint'];
const parser = new Parser();
const diagnostics = await parser.validate(readFileSync(asyncapiPath, 'utf8'), { source: asyncapiPath });
const asyncapi = diagnostics
  // information and hints are advice ("consider adding..."), not problems of the document
  .filter((d) => d.severity <= 1)
  .map((d) => ({ severity: SEVERITY[d.severity], rule: String(d.code), message: d.message, path: d.path.join('.') }));

let openapi = [];
if (openapiPath !== undefined) {
  const config = await createConfig({ extends: ['recommended'], rules: WAIVED_OPENAPI_RULES });
  const problems = await lintFromString({ source: readFileSync(openapiPath, 'utf8'), absoluteRef: openapiPath, config });
  openapi = problems.map((p) => ({
    severity: p.severity,
    rule: p.ruleId,
    message: p.message,
    path: p.location?.[0]?.pointer ?? '',
  }));
}

process.stdout.write(`${JSON.stringify({ asyncapi, openapi }, null, 2)}\n`);
process.exitCode = asyncapi.length + openapi.length > 0 ? 1 : 0;
