import fc from 'fast-check';
import { decodeMessage, InputEvent, KafkaInputMessage } from './envelope';
import { INPUT_EVENT_TYPES, INPUT_EVENTS, InputEventType } from './input-events';
import { TEST_TOPICS, topicOf } from './testing/messages';

/**
 * Hostile input, property-based: whatever arrives as a Kafka value (structured or binary mode),
 * `decodeMessage` either rejects it with a reason that names a field, or accepts an event a
 * store can hold. The checks on accepted events are written independently of the lib's own
 * (their own regexes and walks), so that a hole in the lib's checks shows here.
 */

// ---------------------------------------------------------------------------------------------
// Building messages: a value tree serialised by hand, so that raw JSON text (1e400, a
// 100,000-deep array) can sit anywhere in it.

class RawJson {
  constructor(readonly text: string) {}
}

function serialize(v: unknown): string {
  if (v instanceof RawJson) return v.text;
  if (Array.isArray(v)) return `[${v.map(serialize).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}:${serialize(x)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

/** The lengths just under, at and over every limit, and a few huge ones. */
const LENGTHS = [0, 1, 255, 256, 257, 320, 321, 1023, 1024, 1025, 4096, 4097, 8000, 8192, 8193, 65536, 65537, 200_000];

const nasty = fc.constantFrom('\u0000', '\ud800', '\udbff', '\udc00', '\udfff', '😀', '𝒜', 'é', 'a', '"', '\\', '\n', '\u2028', '\ufeff', '\u0301');
const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const anyCodePoint = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 });
const char = fc.oneof(nasty, anyCodeUnit, anyCodePoint);

const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: char, maxLength: 12 }),
  fc.string({ unit: 'grapheme-ascii', maxLength: 12 }),
  fc
    .tuple(fc.constantFrom(...LENGTHS), fc.constantFrom('a', 'é', '😀', 'x'), fc.option(char, { nil: '' }))
    .map(([n, c, tail]) => c.repeat(Math.ceil(n / c.length)).slice(0, n) + tail),
);

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const hostileTime: fc.Arbitrary<string> = fc.oneof(
  {
    arbitrary: fc
      .record({
        year: fc.oneof(fc.constantFrom(0, 1, 2, 1969, 1970, 2026, 9998, 9999), fc.integer({ min: 0, max: 9999 })),
        month: fc.integer({ min: 1, max: 12 }),
        day: fc.integer({ min: 1, max: 31 }),
        hour: fc.integer({ min: 0, max: 23 }),
        minute: fc.integer({ min: 0, max: 59 }),
        second: fc.integer({ min: 0, max: 60 }),
        fraction: fc.option(fc.stringMatching(/^[0-9]{1,10}$/), { nil: '' }),
        zone: fc.oneof(
          fc.constantFrom('Z', 'z', '+00:00', '-00:00', '+14:00', '-14:00', '+14:01', '-16:00', '+23:59', '-23:59'),
          fc.tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 })).map(([s, h, m]) => `${s}${pad(h, 2)}:${pad(m, 2)}`),
        ),
      })
      .map(
        (t) =>
          `${pad(t.year, 4)}-${pad(t.month, 2)}-${pad(t.day, 2)}T${pad(t.hour, 2)}:${pad(t.minute, 2)}:${pad(t.second, 2)}` +
          `${t.fraction === '' ? '' : `.${t.fraction}`}${t.zone}`,
      ),
    weight: 5,
  },
  { arbitrary: hostileString, weight: 1 },
);

const hostileNumber: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, 1, 2 ** 53, -(2 ** 53), 1e308, -1e308, 5e-324, Number.MAX_SAFE_INTEGER),
  fc.constantFrom('1e400', '-1e400', '1' + '0'.repeat(400), '1e-400', '123456789012345678901234567890').map((t) => new RawJson(t)),
);

/** `[[[…]]]` or `{"a":{"a":…}}` as raw text, of any depth up to 100,000. */
const deepJson = fc
  .tuple(fc.constantFrom(2, 16, 29, 30, 31, 32, 33, 40, 1000, 100_000), fc.boolean())
  .map(([n, arrays]) => new RawJson(arrays ? '['.repeat(n) + ']'.repeat(n) : '{"a":'.repeat(n - 1) + '{}' + '}'.repeat(n - 1)));

const { json: hostileJson } = fc.letrec<{ json: unknown }>((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', maxDepth: 5 },
    hostileString,
    hostileNumber,
    fc.boolean(),
    fc.constant(null),
    deepJson,
    fc.array(tie('json'), { maxLength: 4 }),
    fc.dictionary(hostileString, tie('json'), { maxKeys: 4 }),
  ),
}));

/** A replacement for a leaf of an example: usually of the leaf's own kind, sometimes anything. */
function hostileLeaf(key: string, leaf: unknown): fc.Arbitrary<unknown> {
  const own =
    typeof leaf === 'string' && key.endsWith('_at') ? hostileTime : typeof leaf === 'string' ? hostileString : typeof leaf === 'number' ? hostileNumber : hostileJson;
  return fc.oneof({ arbitrary: own, weight: 6 }, { arbitrary: hostileJson, weight: 1 });
}

/** The example of each type with every optional field present, so that each can be attacked. */
const FULL_EXAMPLES: Record<InputEventType, Record<string, unknown>> = {
  ...(Object.fromEntries(INPUT_EVENT_TYPES.map((t) => [t, INPUT_EVENTS[t].example])) as Record<InputEventType, Record<string, unknown>>),
  'lms.course.upserted': {
    course: {
      ...(INPUT_EVENTS['lms.course.upserted'].example.course as object),
      meta_title: 'm',
      meta_description: 'md',
      og_title: 'o',
      og_description: 'od',
      og_image: 'https://cdn.example.com/og.png',
      image_bigger: 'https://cdn.example.com/1.png',
      image_big: 'https://cdn.example.com/2.png',
      image_medium: 'https://cdn.example.com/3.png',
      image_small: 'https://cdn.example.com/4.png',
      created_by: { id: 3, username: 'ada', real_name: 'Ada Admin', avatar: 'https://cdn.example.com/a.png' },
    },
  },
  'lms.membership.changed': {
    ...INPUT_EVENTS['lms.membership.changed'].example,
    assignment: { due_at: '2026-12-31T23:59:59Z', access_expires_at: '2027-01-31T00:00:00+01:00', is_mandatory: true },
    custom_fields: { cost_center: 'R&D', tags: ['a', 'b'], nested: { level: { deeper: 1 } } },
  },
  'lms.user.upserted': {
    user: {
      id: 7,
      username: 'grace',
      real_name: 'Grace H.',
      avatar: 'https://cdn.example.com/g.png',
      emails: [{ email: 'g@example.com', type: 'work', is_primary: true }],
    },
  },
};

type Path = (string | number)[];

function leaves(v: unknown, path: Path = []): [Path, unknown][] {
  if (Array.isArray(v)) return v.flatMap((x, i) => leaves(x, [...path, i]));
  if (typeof v === 'object' && v !== null) {
    const own: [Path, unknown][] = path.length > 0 ? [[path, v]] : [];
    return [...own, ...Object.entries(v).flatMap(([k, x]) => leaves(x, [...path, k]))];
  }
  return [[path, v]];
}

/** Sets the value at `path`, unless an earlier mutation replaced a container on the way. */
function setAt(root: unknown, path: Path, value: unknown): void {
  let node = root;
  for (const k of path.slice(0, -1)) {
    if (typeof node !== 'object' || node === null || node instanceof RawJson) return;
    node = (node as Record<string | number, unknown>)[k];
  }
  if (typeof node !== 'object' || node === null || node instanceof RawJson) return;
  (node as Record<string | number, unknown>)[path[path.length - 1]] = value;
}

/** The example of `type` with a few leaves (or subtrees) replaced and a few hostile keys added. */
const hostileData = (type: InputEventType): fc.Arbitrary<unknown> => {
  const example = FULL_EXAMPLES[type];
  const spots = leaves(example);
  const mutation = fc.integer({ min: 0, max: spots.length - 1 }).chain((i) => {
    const [path, leaf] = spots[i];
    return hostileLeaf(String(path[path.length - 1]), leaf).map((value) => ({ path, value }));
  });
  return fc
    .tuple(
      fc.array(mutation, { maxLength: 2 }),
      sometimes(undefined, fc.dictionary(hostileString, hostileJson, { minKeys: 1, maxKeys: 2 })),
      fc.option(fc.dictionary(hostileString, hostileJson, { maxKeys: 20 }), { nil: undefined }),
    )
    .map(([mutations, extra, customFields]) => {
      const data = structuredClone<Record<string, unknown>>(example);
      for (const { path, value } of mutations) setAt(data, path, value);
      if (extra !== undefined) Object.assign(data, { extra });
      if (customFields !== undefined && type === 'lms.membership.changed') data.custom_fields = customFields;
      return data;
    });
};

const hostileId = fc.oneof(
  fc.constantFrom(...LENGTHS).map((n) => 'i'.repeat(n)),
  fc.nat({ max: 300 }).map((n) => 'é'.repeat(n)),
  hostileString,
);
const hostileSource = fc.oneof(
  fc.constantFrom(...LENGTHS).map((n) => (n === 0 ? '' : '/' + 's'.repeat(n - 1))),
  fc.constantFrom('/community', 'https://lms.example.com/x?y#z', 'urn:x:y'),
  hostileString,
);

const sometimes = <T, U>(usual: T, hostile: fc.Arbitrary<U>): fc.Arbitrary<T | U> =>
  fc.oneof({ arbitrary: fc.constant(usual), weight: 3 }, { arbitrary: hostile, weight: 1 });

interface Attributes {
  specversion: string;
  id: string;
  source: string;
  type: InputEventType;
  time: string;
  subject: string | undefined;
  ext: unknown;
}

const hostileMessage: fc.Arbitrary<{ msg: KafkaInputMessage; attrs: Attributes }> = fc
  .constantFrom(...INPUT_EVENT_TYPES)
  .chain((type) =>
    fc.record({
      // Each part is hostile now and then, so that some messages get through whole.
      attrs: fc.record({
        specversion: fc.constant('1.0'),
        id: sometimes('evt-1', hostileId),
        source: sometimes('/community', hostileSource),
        type: fc.constant(type),
        time: fc.oneof(fc.constant('2026-11-20T10:15:30.123456Z'), hostileTime),
        subject: sometimes(undefined, hostileString),
        ext: sometimes(undefined, hostileJson),
      }),
      data: hostileData(type),
      mode: fc.constantFrom('structured', 'binary'),
      headersAsStrings: fc.boolean(),
    }),
  )
  .map(({ attrs: generated, data, mode, headersAsStrings }) => {
    let attrs: Attributes = generated;
    const topic = topicOf(attrs.type);
    if (mode === 'structured') {
      return { attrs, msg: { topic, key: null, value: Buffer.from(serialize({ ...attrs, data }), 'utf8'), headers: {} } };
    }
    const headers: Record<string, Buffer | string> = {};
    if (!headersAsStrings) {
      // UTF-8 has no lone surrogates: Buffer.from writes U+FFFD in their place, as a producer would.
      const utf8 = (s: string) => Buffer.from(s, 'utf8').toString('utf8');
      attrs = { ...attrs, id: utf8(attrs.id), source: utf8(attrs.source) };
    }
    for (const [name, v] of Object.entries(attrs)) {
      if (v === undefined) continue;
      const text = typeof v === 'string' ? v : serialize(v);
      // kafkajs delivers Buffers; a string header keeps what UTF-8 cannot carry (lone surrogates).
      headers[`ce_${name}`] = headersAsStrings ? text : Buffer.from(text, 'utf8');
    }
    headers['content-type'] = 'application/json';
    return { attrs, msg: { topic, key: null, value: Buffer.from(serialize(data), 'utf8'), headers } };
  });

// ---------------------------------------------------------------------------------------------
// What a store can hold, checked independently of the lib

const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const codePoints = (s: string) => [...s].length;
const FIRST_INSTANT = Date.parse('0001-01-01T00:00:00.000Z');
const LAST_INSTANT = Date.parse('9999-12-31T23:59:59.999Z');
const CANONICAL = /^(\d{4})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.(\d{3}|\d{6})Z$/;

/** The most characters each stored string may have, by its key (custom fields aside). */
const MAX_CHARS: Record<string, number> = {
  id: 256,
  source: 1024,
  subject: 1024,
  datacontenttype: 255,
  name: 1024,
  slug: 1024,
  description: 65536,
  meta_title: 1024,
  og_title: 1024,
  meta_description: 4096,
  og_description: 4096,
  og_image: 8192,
  image_bigger: 8192,
  image_big: 8192,
  image_medium: 8192,
  image_small: 8192,
  avatar: 8192,
  username: 255,
  real_name: 255,
  email: 320,
};

/** Visits every key and value of a JSON-like tree with its depth (the root container is level 1). */
function visit(v: unknown, f: (key: string, value: unknown, level: number, inCustomFields: boolean) => void, level = 1, inCustom = false): void {
  if (typeof v !== 'object' || v === null) return;
  for (const [k, x] of Object.entries(v)) {
    f(k, x, level, inCustom);
    visit(x, f, level + 1, inCustom || k === 'customFields');
  }
}

/** Equal as JSON: numbers by value (so -0 equals 0, but Infinity does not equal null). */
function sameJson(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function expectStorable(e: InputEvent, attrs: Attributes): void {
  const problems: string[] = [];
  const text = JSON.stringify(e);
  if (!sameJson(JSON.parse(text), e)) problems.push('JSON.stringify does not re-parse equal');
  if (Buffer.byteLength(JSON.stringify(e.fact)) > 1024 * 1024) problems.push('fact over 1 MiB');
  let depth = 0;
  const strings: [string, string][] = [];
  for (const [k, v] of Object.entries(e)) if (typeof v === 'string') strings.push([k, v]);
  visit(e.fact, (key, value, level, inCustom) => {
    depth = Math.max(depth, typeof value === 'object' && value !== null ? level + 1 : level);
    if (UNSTORABLE.test(key)) problems.push(`key ${JSON.stringify(key)} is unstorable`);
    if (typeof value === 'string' && !inCustom && key !== 'customFields') strings.push([key, value]);
    if (typeof value === 'string' && UNSTORABLE.test(value)) problems.push(`${key} is unstorable`);
    if (typeof value === 'number' && !Number.isFinite(value)) problems.push(`${key} is not finite`);
  });
  if (depth > 32) problems.push(`fact nests ${depth} levels`);
  for (const [key, s] of strings) {
    if (UNSTORABLE.test(s)) problems.push(`${key} is unstorable`);
    const max = MAX_CHARS[key] ?? 65536;
    if (codePoints(s) > max) problems.push(`${key} has ${codePoints(s)} characters, over ${max}`);
  }
  const times = [e.fact.meta.time];
  const f = e.fact as unknown as Record<string, Record<string, unknown> | undefined>;
  for (const t of [f.course?.created_at, f.assignment?.due_at, f.assignment?.access_expires_at]) if (typeof t === 'string') times.push(t);
  for (const t of times) {
    const m = CANONICAL.exec(t);
    const ms = Date.parse(t);
    if (m === null || m[1] === '0000' || !(ms >= FIRST_INSTANT && ms <= LAST_INSTANT)) problems.push(`time ${t} out of range`);
  }
  if (f.customFields !== undefined) {
    const cf = f.customFields;
    if (Buffer.byteLength(JSON.stringify(cf)) > 64 * 1024) problems.push('custom fields over 64 KiB');
    for (const [k, v] of Object.entries(cf)) if (Buffer.byteLength(JSON.stringify(v)) > 8 * 1024) problems.push(`custom field ${k} over 8 KiB`);
  }
  const user = f.user as { emails?: unknown[] } | undefined;
  if ((user?.emails?.length ?? 0) > 100) problems.push('over 100 e-mails');
  if (attrs.id !== e.id || attrs.source !== e.source) problems.push('id or source changed');
  expect(problems).toEqual([]);
}

/** A reason starts with what it is about: the value, the topic, an attribute or header, a data path. */
const NAMES_A_FIELD =
  /^(message value|value|topic|specversion|id|source|type|time|subject|datacontenttype|ext|data_base64|data|headers:|header (ce_[a-z]+|content-type))([.[ ]|$)/;

describe('hostile input (property): every message is a violation naming a field, or an event a store can hold', () => {
  it('holds for structured and binary messages', () => {
    let accepted = 0;
    let rejected = 0;
    fc.assert(
      fc.property(hostileMessage, ({ msg, attrs }) => {
        const r = decodeMessage(msg, TEST_TOPICS); // throws only on a bug: a violation is a value
        if (r.ok) {
          accepted++;
          expectStorable(r.event, attrs);
        } else {
          rejected++;
          expect(r.reason).toMatch(NAMES_A_FIELD);
        }
      }),
      { numRuns: 800 },
    );
    // The property says nothing if every message is rejected (or accepted): both must happen.
    expect(accepted).toBeGreaterThan(80);
    expect(rejected).toBeGreaterThan(80);
  });
});
