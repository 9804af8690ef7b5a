import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENV_SCHEMA } from '@app/config';

// The README's configuration table is what operators read: it must list every variable the code
// validates, with the same default.
describe('README configuration table', () => {
  const readme = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
  const rows = new Map([...readme.matchAll(/^\| `([A-Z_]+)` \| (.+?) \| (.+?) \|$/gm)].map((m) => [m[1], m[2].replace(/`/g, '')]));

  it.each(Object.entries(ENV_SCHEMA))('documents %s with its default', (name, setting) => {
    expect(rows.get(name)).toBe(setting.default === '' ? '(empty)' : setting.default);
  });

  it('lists no variable the code does not read', () => {
    expect([...rows.keys()].filter((n) => !(n in ENV_SCHEMA))).toEqual([]);
  });
});
