/**
 * `npm run ops -- validate [file.jsonl|-]`: an upstream team checks its CloudEvents against the
 * contract before producing them, with no Kafka, Postgres or Redis (none is configured here).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { INPUT_EVENT_TYPES, INPUT_EVENTS } from '@app/contracts';
import { main, USAGE, violationPath } from '../../scripts/ops';

class Captured {
  text = '';
  write(s: string): boolean {
    this.text += s;
    return true;
  }
}

const event = (type: string, data: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ specversion: '1.0', id: `evt-${type}`, source: '/community', type, time: '2026-11-20T10:15:30.123456Z', data, ...extra });
const lessonExample = INPUT_EVENTS['lms.lesson.upserted'].example as { course_id: number; lesson: Record<string, unknown> };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ops-validate-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[], stdin?: string | Buffer): Promise<{ code: number; out: string }> {
  const out = new Captured();
  const code = await main(['validate', ...args], out, { stdin: Readable.from(stdin === undefined ? [] : [Buffer.from(stdin)]) });
  return { code, out: out.text };
}

describe('ops validate', () => {
  it('prints each violation with its line number and field path, and exits 1', async () => {
    const file = join(dir, 'mixed.jsonl');
    writeFileSync(
      file,
      [
        event('lms.lesson.upserted', lessonExample),
        '',
        event('lms.lesson.upserted', { ...lessonExample, lesson: { ...lessonExample.lesson, status: 'live' } }),
        '{"specversion": "1.0", "id": ',
        event('lms.lesson.completed', { course_id: 1, user_id: 2, lesson_id: 3 }, { time: undefined }),
        event('lms.lesson.archived', {}),
        `${event('lms.user.deleted', INPUT_EVENTS['lms.user.deleted'].example)}\r`,
        event('lms.lesson.completed', { course_id: 1, user_id: 2, lesson_id: 3 }, { headers: 1, data: { course_id: 1, user_id: -2, lesson_id: 3 } }),
      ].join('\n'),
    );
    const { code, out } = await run([file]);
    expect(code).toBe(1);
    const lines = out.trimEnd().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^${file}:3: data\\.lesson\\.status: must be "draft" or "published", got "live"$`)),
      expect.stringMatching(new RegExp(`^${file}:4: value: `)),
      `${file}:5: time: is required`,
      expect.stringMatching(new RegExp(`^${file}:6: type: .*"lms\\.lesson\\.archived"`)),
      expect.stringMatching(new RegExp(`^${file}:8: data\\.user_id: `)),
      'ops: validate: 7 event(s) checked, 2 valid, 5 with a violation',
    ]);
  });

  it('exits 0 when every event is valid: one of each input type, from standard input', async () => {
    const input = INPUT_EVENT_TYPES.map((t) => event(t, INPUT_EVENTS[t].example)).join('\n') + '\n';
    const { code, out } = await run(['-'], input);
    expect(out).toBe(`ops: validate: ${INPUT_EVENT_TYPES.length} event(s) checked, ${INPUT_EVENT_TYPES.length} valid, 0 with a violation\n`);
    expect(code).toBe(0);
    expect((await run([], input)).code).toBe(0); // no argument = standard input too
  });

  it('passes the bytes to the decoder as sent: invalid UTF-8 is a violation of its line', async () => {
    const bad = Buffer.concat([Buffer.from(event('lms.user.deleted', INPUT_EVENTS['lms.user.deleted'].example).slice(0, -2)), Buffer.from([0xc3, 0x22, 0x7d, 0x7d])]);
    const stdin = Buffer.concat([Buffer.from(`${event('lms.user.deleted', INPUT_EVENTS['lms.user.deleted'].example)}\n`), bad]);
    const { code, out } = await run(['-'], stdin);
    expect(out.split('\n')[0]).toMatch(/^standard input:2: value: .*UTF-8/);
    expect(code).toBe(1);
  });

  it('reports an unreadable file and a usage error, and the help lists the command', async () => {
    const missing = await run([join(dir, 'no-such-file.jsonl')]);
    expect(missing.code).toBe(1);
    expect(missing.out).toMatch(/cannot read .*no-such-file\.jsonl/);
    expect((await run(['a.jsonl', 'b.jsonl'])).code).toBe(2);
    expect(USAGE).toContain('validate [file.jsonl | -]');
  });

  it('splits a reason into the field path and the rest', () => {
    expect(violationPath('data.lesson.status must be "draft", got "live"')).toEqual({ path: 'data.lesson.status', message: 'must be "draft", got "live"' });
    expect(violationPath('data.user.emails[2].email is required')).toEqual({ path: 'data.user.emails[2].email', message: 'is required' });
    expect(violationPath('header ce_id is required')).toEqual({ path: 'header ce_id', message: 'is required' });
    expect(violationPath('message value is 2000000 bytes, over the 1 MiB limit')).toEqual({ path: 'value', message: 'is 2000000 bytes, over the 1 MiB limit' });
  });
});
