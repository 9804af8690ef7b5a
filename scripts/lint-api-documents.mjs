// Checks the service's two API documents with their official tools, without network access:
//   docs/asyncapi.yaml (or --asyncapi <file>)  with @asyncapi/parser (errors and warnings)
//   --openapi <file.json>                      with Redocly (@redocly/openapi-core) and redocly.yaml, the
//                                              config the stock `npx @redocly/cli lint` reads too
// Prints one JSON object { asyncapi: [...], openapi: [...] } (each problem: severity, rule,
// message, path) and exits 1 when any problem is found. The unit suite runs it (libs/contracts
// and apps/read-api specs); it is a plain ESM script because @redocly/openapi-core ships ESM only.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Parser } from '@asyncapi/parser';
import { lintFromString, loadConfig } from '@redocly/openapi-core';

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
  // `recommended` with the waivers in redocly.yaml, which says why each rule is off.
  const config = await loadConfig({ configPath: join(root, 'redocly.yaml') });
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
