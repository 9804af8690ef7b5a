import { syntheticWorkload } from '@app/workload';
import { decodeMessage } from './envelope';
import { encodeBinary } from './output-event';
import { accept, binary, cloudEvent, raw, reject, structured, TEST_TOPICS } from './testing/messages';

// Messages that passed the contract and then broke a store (issue 10): each is a structured
// CloudEvent with specversion 1.0 and a valid type, and each must now be a contract violation
// naming the field, in binary mode as well as structured mode.

const COURSE = { id: 42, name: 'Kafka', type: 'self-paced' };
const MEMBERSHIP = { course_id: 42, user_id: 7, join_status: 'joined' };
const USER = { id: 7, username: 'grace' };
const DELETED = { course_id: 42 };

const courseEvent = (course: Record<string, unknown>) => cloudEvent('lms.course.upserted', { course: { ...COURSE, ...course } });
const membershipEvent = (extra: Record<string, unknown>) => cloudEvent('lms.membership.changed', { ...MEMBERSHIP, ...extra });
const userEvent = (user: Record<string, unknown>) => cloudEvent('lms.user.upserted', { user: { ...USER, ...user } });
const deletedEvent = (overrides: Record<string, unknown> = {}) => cloudEvent('lms.course.deleted', DELETED, overrides);

/** Both modes of the same event; binary mode carries the attributes as ce_ headers. */
const bothModes = (e: ReturnType<typeof cloudEvent>) =>
  [
    ['structured', structured(e)],
    ['binary', binary(e)],
  ] as const;

/** `{"a":{"a":…{"a":1}…}}`, `depth` objects deep, as JSON text. */
const nestedObjects = (depth: number): string => '{"a":'.repeat(depth - 1) + '{"a":1}' + '}'.repeat(depth - 1);

describe('issue 10: a NUL character (U+0000) is a contract violation', () => {
  it('rejects a NUL in id (the \\u0000 JSON escape), naming id', () => {
    expect(reject(structured(deletedEvent({ id: 'evt\u00009381' })))).toBe('id must not contain a NUL character (U+0000), got "evt\\u00009381"');
  });

  it('rejects a NUL in a course name, naming data.course.name', () => {
    for (const [, msg] of bothModes(courseEvent({ name: 'Kafka\u0000' }))) {
      expect(reject(msg)).toBe('data.course.name must not contain a NUL character (U+0000), got "Kafka\\u0000"');
    }
  });

  it('rejects a NUL in a custom_fields key, naming data.custom_fields', () => {
    for (const [, msg] of bothModes(membershipEvent({ custom_fields: { 'cost\u0000center': 'R&D' } }))) {
      expect(reject(msg)).toBe('data.custom_fields has a key that contains a NUL character (U+0000): "cost\\u0000center"');
    }
  });

  it('rejects a NUL in a field the service ignores and in an extension attribute (nothing unstorable passes)', () => {
    expect(reject(structured(cloudEvent('lms.course.deleted', { ...DELETED, note: ['ok', 'x\u0000'] })))).toBe(
      'data.note[1] must not contain a NUL character (U+0000), got "x\\u0000"',
    );
    expect(reject(structured(deletedEvent({ traceparent: '\u0000' })))).toBe('traceparent must not contain a NUL character (U+0000), got "\\u0000"');
  });

  it('names the value itself when the NUL is in a top-level key of the envelope or in a bare string', () => {
    expect(reject(raw('{"specversion":"1.0","\\u0000":1}'))).toBe('value has a key that contains a NUL character (U+0000): "\\u0000"');
    expect(reject(raw('"\\u0000"'))).toBe('value must not contain a NUL character (U+0000), got "\\u0000"');
  });

  it('rejects a NUL byte in a ce_ header (binary mode), naming the header', () => {
    const { headers, value } = encodeBinary(deletedEvent());
    expect(reject(raw(value, { ...headers, ce_id: Buffer.from('evt\u00009381') }, TEST_TOPICS.courses))).toBe(
      'header ce_id must not contain a NUL character (U+0000), got "evt\\u00009381"',
    );
    expect(reject(raw(value, { ...headers, ce_source: '/community\u0000' }))).toBe('header ce_source must not contain a NUL character (U+0000), got "/community\\u0000"');
    expect(reject(raw(value, { ...headers, ce_partitionkey: Buffer.from([0x61, 0x00]) }))).toBe(
      'header ce_partitionkey must not contain a NUL character (U+0000), got "a\\u0000"',
    );
  });
});

describe('issue 10: a lone UTF-16 surrogate is a contract violation', () => {
  it('rejects a lone surrogate in real_name ("x\\ud800y"), naming data.user.real_name', () => {
    for (const [, msg] of bothModes(userEvent({ real_name: 'x\ud800y' }))) {
      expect(reject(msg)).toBe('data.user.real_name must not contain a lone surrogate (an unpaired U+D800), got "x\\ud800y"');
    }
  });

  it.each([
    ['a lone low surrogate', 'a\udc00', 'U+DC00'],
    ['a high surrogate at the end', 'a\udbff', 'U+DBFF'],
    ['two high surrogates', '\ud800\ud800\udc00', 'U+D800'],
    ['a reversed pair', '\udc00\ud800', 'U+DC00'],
  ])('rejects %s in a category name', (_label, name, unit) => {
    expect(reject(structured(courseEvent({ categories: [{ id: 1, name }] })))).toMatch(
      new RegExp(`^data\\.course\\.categories\\[0\\]\\.name must not contain a lone surrogate \\(an unpaired ${unit.replace('+', '\\+')}\\), got `),
    );
  });

  it('rejects a lone surrogate in a custom_fields key and in a string header', () => {
    expect(reject(structured(membershipEvent({ custom_fields: { ['k\udfff']: 1 } })))).toBe(
      'data.custom_fields has a key that contains a lone surrogate (an unpaired U+DFFF): "k\\udfff"',
    );
    const { headers, value } = encodeBinary(deletedEvent());
    expect(reject(raw(value, { ...headers, ce_subject: 's\ud800' }))).toBe('header ce_subject must not contain a lone surrogate (an unpaired U+D800), got "s\\ud800"');
  });

  it('accepts astral characters (surrogate pairs), escaped or not', () => {
    expect(accept(structured(userEvent({ real_name: 'Grace 𝒜 \ud83d\ude00' }))).fact).toMatchObject({ user: { real_name: 'Grace 𝒜 😀' } });
    const text = JSON.stringify(userEvent({ real_name: 'PLACEHOLDER' })).replace('PLACEHOLDER', '\\ud83d\\ude00');
    expect(accept(raw(text, {}, TEST_TOPICS.users)).fact).toMatchObject({ user: { real_name: '😀' } });
  });
});

describe('issue 10: JSON nesting deeper than 32 levels is a contract violation', () => {
  it('rejects custom_fields nested 6,000 deep (36 KB), naming the field', () => {
    const text = JSON.stringify(membershipEvent({ custom_fields: 'DEEP' })).replace('"DEEP"', nestedObjects(6000));
    expect(text.length).toBeGreaterThan(36_000);
    const reason = reject(raw(text, {}, TEST_TOPICS.memberships));
    expect(reason).toMatch(/^data\.custom_fields(\.a)+ is nested more than 32 levels deep$/);
    expect(reason).toBe(`data.custom_fields${'.a'.repeat(31)} is nested more than 32 levels deep`);
  });

  it.each(['structured', 'binary'])('rejects a 100,000-deep value cheaply (%s mode): before JSON.parse, without recursion', (mode) => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const msg =
      mode === 'structured'
        ? raw(JSON.stringify(deletedEvent({ data: { ...DELETED, x: 'DEEP' } })).replace('"DEEP"', deep))
        : raw(`{"course_id":42,"x":${deep}}`, encodeBinary(deletedEvent()).headers);
    const parse = jest.spyOn(JSON, 'parse');
    try {
      expect(reject(msg)).toBe(`data.x${'[0]'.repeat(31)} is nested more than 32 levels deep`);
      expect(parse).not.toHaveBeenCalled();
    } finally {
      parse.mockRestore();
    }
  });

  it('counts data as level 1 in both modes: 32 levels pass, 33 do not', () => {
    // data (1) > custom_fields (2) > 30 more objects = 32
    const at = (depth: number) => JSON.stringify(membershipEvent({ custom_fields: 'DEEP' })).replace('"DEEP"', nestedObjects(depth - 1));
    const ok = at(32);
    expect(accept(raw(ok, {}, TEST_TOPICS.memberships)).fact).toMatchObject({ kind: 'membership' });
    expect(reject(raw(at(33), {}, TEST_TOPICS.memberships))).toBe(`data.custom_fields${'.a'.repeat(31)} is nested more than 32 levels deep`);
    const { headers } = encodeBinary(membershipEvent({}));
    const data = (depth: number) => JSON.stringify({ ...MEMBERSHIP, custom_fields: 'DEEP' }).replace('"DEEP"', nestedObjects(depth - 1));
    expect(accept(raw(data(32), headers, TEST_TOPICS.memberships)).mode).toBe('binary');
    expect(reject(raw(data(33), headers, TEST_TOPICS.memberships))).toBe(`data.custom_fields${'.a'.repeat(31)} is nested more than 32 levels deep`);
  });

  it('names unusual keys safely in the path', () => {
    const text = JSON.stringify(membershipEvent({ custom_fields: { 'a b': 'DEEP' } })).replace('"DEEP"', '['.repeat(40) + ']'.repeat(40));
    expect(reject(raw(text, {}, TEST_TOPICS.memberships))).toBe(`data.custom_fields["a b"]${'[0]'.repeat(30)} is nested more than 32 levels deep`);
  });

  it('still reports a syntax error in shallow invalid JSON, and depth first in deep invalid JSON', () => {
    expect(reject(raw('{"a":[1,}'))).toBe('value is not valid JSON at position 8: unexpected "}"');
    expect(reject(raw(`{"data":${'['.repeat(50)}`))).toBe(`data${'[0]'.repeat(32)} is nested more than 32 levels deep`);
  });
});

describe('issue 10: numbers a store cannot hold are a contract violation', () => {
  it('rejects a number beyond the double range (1e400 parses to Infinity) in custom_fields', () => {
    const text = JSON.stringify(membershipEvent({ custom_fields: { big: 'BIG' } })).replace('"BIG"', '1e400');
    expect(reject(raw(text, {}, TEST_TOPICS.memberships))).toBe('data.custom_fields.big must be a finite number, got Infinity');
    expect(reject(raw(text.replace('1e400', '-1e400'), {}, TEST_TOPICS.memberships))).toBe('data.custom_fields.big must be a finite number, got -Infinity');
  });
});

describe('issue 10: id and source lengths', () => {
  it('rejects a source of 8,000 characters (over 1,024), in both modes', () => {
    const source = '/' + 's'.repeat(7999);
    expect(reject(structured(deletedEvent({ source })))).toBe('source must have at most 1024 characters, got 8000');
    expect(reject(binary(deletedEvent({ source })))).toBe('header ce_source must have at most 1024 characters, got 8000');
  });

  it('accepts a source of exactly 1,024 characters and rejects 1,025', () => {
    expect(accept(structured(deletedEvent({ source: '/' + 's'.repeat(1023) }))).source).toHaveLength(1024);
    expect(reject(structured(deletedEvent({ source: '/' + 's'.repeat(1024) })))).toBe('source must have at most 1024 characters, got 1025');
  });

  it('keeps the 256-character id limit in binary mode too', () => {
    expect(accept(binary(deletedEvent({ id: 'x'.repeat(256) }))).id).toHaveLength(256);
    expect(reject(binary(deletedEvent({ id: 'x'.repeat(257) })))).toBe('header ce_id must have at most 256 characters, got 257');
  });
});

describe('issue 10: timestamps stay within years 0001–9999 and offsets within ±14:00', () => {
  it('rejects a time with year 0000 (applied before, then broke the read API)', () => {
    expect(reject(structured(deletedEvent({ time: '0000-06-01T00:00:00Z' })))).toBe('time has year 0000: years run from 0001 to 9999, got "0000-06-01T00:00:00Z"');
    expect(reject(binary(deletedEvent({ time: '0000-06-01T00:00:00Z' })))).toBe('header ce_time has year 0000: years run from 0001 to 9999, got "0000-06-01T00:00:00Z"');
  });

  it.each(['+16:00', '-16:00', '+18:30', '-20:00', '+23:59', '-23:59', '+14:01', '-14:59', '+15:00'])('rejects a time with the offset %s', (offset) => {
    const time = `2026-11-20T10:15:30${offset}`;
    expect(reject(structured(deletedEvent({ time })))).toBe(`time has a zone offset beyond ±14:00, got "${time}"`);
  });

  it.each(['+14:00', '-14:00', '+05:45', '-09:30'])('accepts a time with the offset %s', (offset) => {
    expect(accept(structured(deletedEvent({ time: `2026-11-20T10:15:30${offset}` }))).id).toBe('evt-9381');
  });

  it.each([
    ['0001-01-01T00:00:00+00:01', '0000-12-31T23:59:00Z'],
    ['0001-01-01T09:00:00+14:00', '0000-12-31T19:00:00Z'],
    ['9999-12-31T23:59:59-00:01', '10000-01-01T00:00:59Z'],
    ['9999-12-31T12:00:00-14:00', '10000-01-01T02:00:00Z'],
  ])('rejects %s, which is %s in UTC', (time) => {
    expect(reject(structured(deletedEvent({ time })))).toBe(`time is out of range: 0001-01-01 to 9999-12-31 in UTC, got "${time}"`);
  });

  it('accepts the first and last instants of the range', () => {
    expect(accept(structured(deletedEvent({ time: '0001-01-01T00:00:00Z' }))).fact.meta.time).toBe('0001-01-01T00:00:00.000000Z');
    expect(accept(structured(deletedEvent({ time: '0001-01-01T14:00:00+14:00' }))).fact.meta.time).toBe('0001-01-01T00:00:00.000000Z');
    expect(accept(structured(deletedEvent({ time: '9999-12-31T23:59:59.999999999Z' }))).fact.meta.time).toBe('9999-12-31T23:59:59.999999Z');
  });

  it.each([
    ['due_at', { assignment: { due_at: '0000-12-31T23:59:59Z' } }, 'data.assignment.due_at has year 0000: years run from 0001 to 9999, got "0000-12-31T23:59:59Z"'],
    [
      'access_expires_at',
      { assignment: { access_expires_at: '2026-12-31T23:59:59+20:00' } },
      'data.assignment.access_expires_at has a zone offset beyond ±14:00, got "2026-12-31T23:59:59+20:00"',
    ],
    [
      'due_at after UTC',
      { assignment: { due_at: '9999-12-31T23:00:00-01:00' } },
      'data.assignment.due_at is out of range: 0001-01-01 to 9999-12-31 in UTC, got "9999-12-31T23:00:00-01:00"',
    ],
  ])('rejects a %s out of range in a membership', (_label, extra, reason) => {
    for (const [, msg] of bothModes(membershipEvent(extra))) expect(reject(msg)).toBe(reason);
  });

  it("rejects a course's created_at with year 0000 or a -16:00 offset", () => {
    expect(reject(structured(courseEvent({ created_at: '0000-01-01T00:00:00Z' })))).toBe(
      'data.course.created_at has year 0000: years run from 0001 to 9999, got "0000-01-01T00:00:00Z"',
    );
    expect(reject(structured(courseEvent({ created_at: '2026-01-01T00:00:00-16:00' })))).toBe(
      'data.course.created_at has a zone offset beyond ±14:00, got "2026-01-01T00:00:00-16:00"',
    );
  });
});

describe('issue 10: every free string the service stores has a bound', () => {
  type Bound = [string, (s: string) => ReturnType<typeof cloudEvent>, string, number];
  const url = (n: number) => 'https://cdn.example.com/' + 'p'.repeat(n - 24);
  const bounds: Bound[] = [
    ['course name', (s) => courseEvent({ name: s }), 'data.course.name', 1024],
    ['course slug', (s) => courseEvent({ slug: s }), 'data.course.slug', 1024],
    ['course description', (s) => courseEvent({ description: s }), 'data.course.description', 65536],
    ['course meta_title', (s) => courseEvent({ meta_title: s }), 'data.course.meta_title', 1024],
    ['course meta_description', (s) => courseEvent({ meta_description: s }), 'data.course.meta_description', 4096],
    ['course og_title', (s) => courseEvent({ og_title: s }), 'data.course.og_title', 1024],
    ['course og_description', (s) => courseEvent({ og_description: s }), 'data.course.og_description', 4096],
    ['category name', (s) => courseEvent({ categories: [{ id: 1, name: s }] }), 'data.course.categories[0].name', 1024],
    ['created_by real_name', (s) => courseEvent({ created_by: { id: 3, username: 'ada', real_name: s } }), 'data.course.created_by.real_name', 255],
    ['section name', (s) => cloudEvent('lms.section.upserted', { course_id: 42, section: { id: 5, name: s, position: 1 } }), 'data.section.name', 1024],
    [
      'lesson name',
      (s) => cloudEvent('lms.lesson.upserted', { course_id: 42, lesson: { id: 9, section_id: 5, name: s, status: 'published', position: 1 } }),
      'data.lesson.name',
      1024,
    ],
    ['actor name', (s) => membershipEvent({ actor: { id: 3, name: s } }), 'data.actor.name', 1024],
    ['user real_name', (s) => userEvent({ real_name: s }), 'data.user.real_name', 255],
    ['email type', (s) => userEvent({ emails: [{ email: 'g@example.com', type: s }] }), 'data.user.emails[0].type', 255],
    ['subject', (s) => deletedEvent({ subject: s }), 'subject', 1024],
  ];
  it.each(bounds)('%s', (_label, build, path, max) => {
    const at = 'é'.repeat(max);
    expect(() => reject(structured(build(at)))).toThrow(/expected the message to be rejected/);
    expect(reject(structured(build(at + 'é')))).toBe(`${path} must have at most ${max} characters, got ${max + 1}`);
  });

  it.each([
    ['og_image', (s: string) => courseEvent({ og_image: s }), 'data.course.og_image'],
    ['image_bigger', (s: string) => courseEvent({ image_bigger: s }), 'data.course.image_bigger'],
    ['image_big', (s: string) => courseEvent({ image_big: s }), 'data.course.image_big'],
    ['image_medium', (s: string) => courseEvent({ image_medium: s }), 'data.course.image_medium'],
    ['image_small', (s: string) => courseEvent({ image_small: s }), 'data.course.image_small'],
    ['created_by avatar', (s: string) => courseEvent({ created_by: { id: 3, username: 'ada', avatar: s } }), 'data.course.created_by.avatar'],
    ['user avatar', (s: string) => userEvent({ avatar: s }), 'data.user.avatar'],
  ])('URL field %s: at most 8,192 characters', (_label, build, path) => {
    expect(() => reject(structured(build(url(8192))))).toThrow(/expected the message to be rejected/);
    expect(reject(structured(build(url(8193))))).toBe(`${path} must have at most 8192 characters, got 8193`);
  });

  it('e-mail addresses: at most 320 characters', () => {
    const email = (n: number) => 'g'.repeat(n - 12) + '@example.com';
    expect(() => reject(structured(userEvent({ emails: [{ email: email(320) }] })))).toThrow(/expected the message to be rejected/);
    expect(reject(structured(userEvent({ emails: [{ email: email(321) }] })))).toBe('data.user.emails[0].email must have at most 320 characters, got 321');
  });

  it('a user has at most 100 e-mail addresses (each is copied into every enrollment of the user)', () => {
    const emails = (n: number) => Array.from({ length: n }, (_, i) => ({ email: `g${i}@example.com` }));
    expect(accept(structured(userEvent({ emails: emails(100) }))).fact).toMatchObject({ kind: 'user' });
    expect(reject(structured(userEvent({ emails: emails(101) })))).toBe('data.user.emails must have at most 100 entries, got 101');
  });

  it('a course has at most 1,000 categories', () => {
    const categories = (n: number) => Array.from({ length: n }, (_, i) => ({ id: i + 1, name: `c${i}` }));
    expect(accept(structured(courseEvent({ categories: categories(1000) }))).fact).toMatchObject({ kind: 'course' });
    expect(reject(structured(courseEvent({ categories: categories(1001) })))).toBe('data.course.categories must have at most 1000 entries, got 1001');
  });

  it('a custom field value takes at most 8 KiB as JSON (8,192 bytes)', () => {
    const value = (bytes: number) => ({ note: 'x'.repeat(bytes - 2) }); // the quotes count
    expect(accept(structured(membershipEvent({ custom_fields: value(8192) }))).fact).toMatchObject({ customFields: { note: expect.any(String) } });
    expect(reject(structured(membershipEvent({ custom_fields: value(8193) })))).toBe('data.custom_fields.note must take at most 8192 bytes as JSON, got 8193');
    // bytes, not characters: 'é' is two bytes in UTF-8
    expect(reject(structured(membershipEvent({ custom_fields: { note: 'é'.repeat(4096) } })))).toBe(
      'data.custom_fields.note must take at most 8192 bytes as JSON, got 8194',
    );
  });

  it('custom_fields take at most 64 KiB as JSON (65,536 bytes) in all', () => {
    const fields = (bytes: number): Record<string, string> => {
      const out: Record<string, string> = {};
      for (let i = 0; i < 8; i++) out[`f${i}`] = 'x'.repeat(8000);
      const used = JSON.stringify(out).length; // ASCII: characters = bytes
      out.last = 'x'.repeat(bytes - used - ',"last":""'.length);
      return out;
    };
    expect(Buffer.byteLength(JSON.stringify(fields(65536)))).toBe(65536);
    expect(accept(structured(membershipEvent({ custom_fields: fields(65536) }))).fact).toMatchObject({ kind: 'membership' });
    expect(reject(structured(membershipEvent({ custom_fields: fields(65537) })))).toBe('data.custom_fields must take at most 65536 bytes as JSON, got 65537');
  });

  it('the reason for an oversize value stays short', () => {
    const r = decodeMessage(structured(courseEvent({ description: 'd'.repeat(70_000) })), TEST_TOPICS);
    expect(r).toEqual({ ok: false, reason: 'data.course.description must have at most 65536 characters, got 70000' });
  });
});

describe('the workload generators still produce valid events', () => {
  it('accepts every message of a synthetic workload (demo, end-to-end tests, benchmark, drills)', () => {
    const rejected: string[] = [];
    let n = 0;
    for (const m of syntheticWorkload({ events: 5000, courses: 20, users: 200, seed: 7 })) {
      n++;
      const r = decodeMessage({ topic: TEST_TOPICS[m.topic], key: Buffer.from(m.key), value: Buffer.from(m.value), headers: {} }, TEST_TOPICS);
      if (!r.ok) rejected.push(r.reason);
    }
    expect(n).toBeGreaterThanOrEqual(5000);
    expect(rejected).toEqual([]);
  });
});
