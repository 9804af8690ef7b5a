/**
 * Writes docs/schemas/*.schema.json, the JSON Schema of every input and output event, from the
 * contract code in libs/contracts (like scripts/generate-asyncapi.ts for docs/asyncapi.yaml).
 * Files no longer generated are removed, so the directory holds exactly the contract's events.
 *
 *   node dist/scripts/generate-event-schemas.js [output-directory]
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildEventJsonSchemas } from '@app/contracts';
import { repositoryRoot } from './generate-asyncapi';

export const DEFAULT_SCHEMAS_DIR = (): string => join(repositoryRoot(), 'docs', 'schemas');

/** File name -> file text, exactly as committed. */
export function renderEventSchemaFiles(): Record<string, string> {
  return Object.fromEntries(Object.entries(buildEventJsonSchemas()).map(([name, schema]) => [name, `${JSON.stringify(schema, null, 2)}\n`]));
}

export function writeEventSchemas(dir: string): string[] {
  const files = renderEventSchemaFiles();
  mkdirSync(dir, { recursive: true });
  for (const stale of readdirSync(dir).filter((f) => f.endsWith('.schema.json') && !Object.hasOwn(files, f))) rmSync(join(dir, stale));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return Object.keys(files);
}

if (require.main === module) {
  const dir = resolve(process.argv[2] ?? DEFAULT_SCHEMAS_DIR());
  const written = writeEventSchemas(dir);
  process.stdout.write(`wrote ${written.length} schemas to ${dir}\n`);
}
