import { decodeMessage, MAX_HEADER_BYTES, MAX_HEADERS, MAX_VALUE_BYTES } from './envelope';
import { encodeBinary, encodeStructured } from './output-event';
import { accept, binary, cloudEvent, raw, reject, structured, TEST_TOPICS } from './testing/messages';

const DELETED = { course_id: 42 };
const event = (overrides: Record<string, unknown> = {}) => cloudEvent('lms.course.deleted', DELETED, overrides);
const without = (name: string) => {
  const e: Record<string, unknown> = { ...event() };
  delete e[name];
  return e;
};

describe('envelope: structured mode', () => {
  it('carries the attributes and a canonical fact time', () => {
    const e = accept(structured(event({ time: '2026-11-20T12:15:30.1234567+02:00', subject: 'course/42' })));
    expect(e).toMatchObject({
      mode: 'structured',
      specversion: '1.0',
      id: 'evt-9381',
      source: '/community',
      type: 'lms.course.deleted',
      time: '2026-11-20T12:15:30.1234567+02:00',
      subject: 'course/42',
      datacontenttype: null,
    });
    expect(e.fact.meta).toEqual({ time: '2026-11-20T10:15:30.123456Z', source: '/community', id: 'evt-9381', type: 'lms.course.deleted' });
  });

  it.each(['specversion', 'id', 'source', 'type', 'time'])('rejects a missing %s, naming it', (name) => {
    expect(reject(structured(without(name)))).toBe(`${name} is required`);
  });

  it('rejects a missing data', () => {
    expect(reject(structured(without('data')))).toBe('data is required');
  });

  it('rejects data_base64 with an explanation', () => {
    expect(reject(structured({ ...without('data'), data_base64: 'eyJ9' }))).toBe('data_base64 is not supported: data must be a JSON object');
  });

  it.each([
    ['0.3', 'specversion must be "1.0", got "0.3"'],
    [1, 'specversion must be "1.0", got 1'],
  ])('rejects specversion %p', (specversion, reason) => {
    expect(reject(structured(event({ specversion })))).toBe(reason);
  });

  it('accepts an id of exactly 256 characters and rejects 257', () => {
    expect(accept(structured(event({ id: 'x'.repeat(256) }))).id).toHaveLength(256);
    expect(reject(structured(event({ id: 'x'.repeat(257) })))).toBe('id must have at most 256 characters, got 257');
  });

  it.each([
    ['', 'id must not be empty, got ""'],
    [42, 'id must be a string, got 42'],
    [null, 'id must be a string, got null'],
  ])('rejects id %p', (id, reason) => {
    expect(reject(structured(event({ id })))).toBe(reason);
  });

  it.each(['/community', 'https://lms.example.com/api?x=1#frag', 'urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66', 'community', '//host:8080/p', 'mailto:a@b.c', 'a%20b'])(
    'accepts the URI-reference %p as source',
    (source) => {
      expect(accept(structured(event({ source }))).source).toBe(source);
    },
  );

  it.each(['', 'has space', '1http://x', 'http://[::1', 'a%zz', '/é', 'a#b#c', 'a\nb'])('rejects the source %p', (source) => {
    expect(reject(structured(event({ source })))).toMatch(/^source must (be a URI-reference \(RFC 3986\)|not be empty), got /);
  });

  it('rejects a source that is not a string', () => {
    expect(reject(structured(event({ source: { uri: '/x' } })))).toBe('source must be a string, got an object');
  });

  it.each(['2026-11-20T10:15:30', '2026-11-20T10:15:30.123', '2026-11-20 10:15:30Z', '2026-11-20', 'yesterday', '2026-11-20T10:15:30+0200'])(
    'rejects the time %p (no zone offset or not RFC 3339)',
    (time) => {
      expect(reject(structured(event({ time })))).toBe(
        `time must be an RFC 3339 timestamp with a zone offset (e.g. "2026-11-20T10:15:30.123Z"), got ${JSON.stringify(time)}`,
      );
    },
  );

  it('rejects a time with more than 9 fractional digits', () => {
    expect(reject(structured(event({ time: '2026-11-20T10:15:30.1234567891Z' })))).toBe(
      'time must have at most 9 fractional second digits, got "2026-11-20T10:15:30.1234567891Z"',
    );
  });

  it('rejects an impossible date', () => {
    expect(reject(structured(event({ time: '2025-02-29T10:15:30Z' })))).toBe('time has a day out of range, got "2025-02-29T10:15:30Z"');
  });

  it('rejects a time that is not a string', () => {
    expect(reject(structured(event({ time: 1763633730 })))).toBe('time must be an RFC 3339 timestamp string, got 1763633730');
  });

  it.each([
    ['Z', '2026-11-20T10:15:30Z', '2026-11-20T10:15:30.000000Z'],
    ['+02:00', '2026-11-20T12:15:30+02:00', '2026-11-20T10:15:30.000000Z'],
    ['-05:30 and 9 digits', '2026-11-20T04:45:30.123456789-05:30', '2026-11-20T10:15:30.123456Z'],
    ['3 digits', '2026-11-20T10:15:30.5Z', '2026-11-20T10:15:30.500000Z'],
  ])('accepts a time with %s', (_label, time, canonical) => {
    expect(accept(structured(event({ time }))).fact.meta.time).toBe(canonical);
  });

  it.each(['application/json', 'application/json; charset=utf-8', 'Application/JSON;charset=UTF-8'])('accepts datacontenttype %p', (dct) => {
    expect(accept(structured(event({ datacontenttype: dct }))).datacontenttype).toBe(dct);
  });

  it.each(['text/plain', 'application/xml', 'application/jsonx', 'application/cloudevents+json'])('rejects datacontenttype %p', (dct) => {
    expect(reject(structured(event({ datacontenttype: dct })))).toBe(
      `datacontenttype must be "application/json" (parameters such as charset allowed), got ${JSON.stringify(dct)}`,
    );
  });

  it('rejects a subject that is not a string', () => {
    expect(reject(structured(event({ subject: 42 })))).toBe('subject must be a string, got 42');
  });

  it.each([
    [[1, 2], 'data must be a JSON object, got an array'],
    ['{"course_id":42}', 'data must be a JSON object, got "{\\"course_id\\":42}"'],
    [null, 'data must be a JSON object, got null'],
    [42, 'data must be a JSON object, got 42'],
  ])('rejects data %p', (data, reason) => {
    expect(reject(structured(event({ data })))).toBe(reason);
  });

  it('ignores extension attributes', () => {
    expect(accept(structured(event({ traceparent: '00-abc-def-01', partitionkey: 'x' }))).fact).toMatchObject({ courseId: 42, deleted: true });
  });

  it('accepts the structured content type header and prefers it over ce_ headers', () => {
    const msg = structured(event());
    msg.headers = { 'content-type': 'application/cloudevents+json; charset=UTF-8', ce_id: 'ignored' };
    expect(accept(msg)).toMatchObject({ mode: 'structured', id: 'evt-9381' });
  });

  it('rejects a structured format other than JSON', () => {
    const msg = structured(event());
    msg.headers = { 'content-type': 'application/cloudevents+avro' };
    expect(reject(msg)).toBe('header content-type "application/cloudevents+avro" is not supported: structured mode must be application/cloudevents+json');
  });
});

describe('envelope: the message value', () => {
  it('rejects a value over 1 MiB, giving its size', () => {
    const value = Buffer.alloc(MAX_VALUE_BYTES + 1, 0x20);
    expect(reject(raw(value))).toBe('message value is 1048577 bytes, over the 1 MiB limit');
  });

  it('accepts a value of exactly 1 MiB', () => {
    const json = encodeStructured(event());
    const value = Buffer.concat([json, Buffer.alloc(MAX_VALUE_BYTES - json.length, 0x20)]);
    expect(value.length).toBe(MAX_VALUE_BYTES);
    expect(accept(raw(value)).id).toBe('evt-9381');
  });

  it.each([
    ['{"specversion": }', 'value is not valid JSON at position 16: unexpected "}"'],
    ['{"specversion":"1.0"', 'value is not valid JSON at position 20: unexpected end of input'],
    ['', 'value is not valid JSON at position 0: unexpected end of input'],
    ['hello', 'value is not valid JSON at position 0: unexpected "h"'],
    ['nope', 'value is not valid JSON at position 1: unexpected "o"'],
    ['{"a":1} {"b":2}', 'value is not valid JSON at position 8: unexpected "{" after the JSON value'],
    ["{'a':1}", 'value is not valid JSON at position 1: expected a property name, got "\'"'],
  ])('rejects the non-JSON value %p with the position', (text, reason) => {
    expect(reject(raw(text))).toBe(reason);
  });

  it('rejects invalid UTF-8', () => {
    expect(reject(raw(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])))).toBe('value is not valid UTF-8');
  });

  it('tolerates a UTF-8 byte order mark', () => {
    const value = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), encodeStructured(event())]);
    expect(accept(raw(value)).id).toBe('evt-9381');
  });

  it.each([
    ['[1,2]', 'an array'],
    ['"text"', '"text"'],
    ['42', '42'],
    ['null', 'null'],
  ])('rejects the JSON value %s instead of an object', (text, got) => {
    expect(reject(raw(text))).toBe(`value must be a JSON object (a structured-mode CloudEvent), got ${got}`);
  });

  it('rejects a null value (tombstone)', () => {
    expect(reject(raw(null))).toBe('message value is null (a tombstone), not a CloudEvent');
  });

  it('rejects a plain payload without envelope, pointing at the first missing attribute', () => {
    expect(reject(raw(JSON.stringify(DELETED)))).toBe('specversion is required');
  });
});

describe('envelope: types and topics', () => {
  it('rejects an unknown type, naming it', () => {
    expect(reject(structured(cloudEvent('lms.course.archived', DELETED)))).toBe('type "lms.course.archived" is not a known input event type');
  });

  it.each(['__proto__', 'constructor', 'toString', 'lms.course_enrollment.updated'])('rejects the type %p', (type) => {
    expect(reject(structured(cloudEvent(type, DELETED)))).toBe(`type ${JSON.stringify(type)} is not a known input event type`);
  });

  it('rejects an empty type', () => {
    expect(reject(structured(cloudEvent('', DELETED)))).toBe('type must not be empty, got ""');
  });

  it('accepts a known type on another input topic than the one events.md lists', () => {
    const e = accept(structured(event(), TEST_TOPICS.users));
    expect(e.fact).toMatchObject({ kind: 'course', courseId: 42, deleted: true });
  });

  it('rejects a message read from a topic that is not an input topic', () => {
    expect(reject(structured(event(), 'lms.course-enrollments.v1'))).toBe('topic "lms.course-enrollments.v1" is not one of the input topics');
  });

  it('uses the configured topic names', () => {
    const topics = { ...TEST_TOPICS, courses: 'custom.courses' };
    expect(decodeMessage(structured(event(), 'custom.courses'), topics).ok).toBe(true);
    expect(decodeMessage(structured(event(), 'lms.courses.v1'), topics).ok).toBe(false);
  });
});

describe('envelope: binary mode', () => {
  it('reads the attributes from ce_ headers and the data from the value', () => {
    const e = accept(binary(event({ subject: 'course/42', time: '2026-11-20T11:15:30.123456+01:00' })));
    expect(e).toMatchObject({
      mode: 'binary',
      id: 'evt-9381',
      source: '/community',
      type: 'lms.course.deleted',
      subject: 'course/42',
      datacontenttype: 'application/json',
    });
    expect(e.fact.meta.time).toBe('2026-11-20T10:15:30.123456Z');
  });

  it('reads Buffer headers, as kafkajs delivers them', () => {
    const { headers, value } = encodeBinary(event());
    const asBuffers = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)]));
    expect(accept(raw(value, asBuffers)).id).toBe('evt-9381');
  });

  it('gives the same fact as structured mode', () => {
    expect(accept(binary(event())).fact).toStrictEqual(accept(structured(event())).fact);
  });

  it.each(['ce_specversion', 'ce_id', 'ce_source', 'ce_type', 'ce_time'])('rejects a missing %s header, naming it', (name) => {
    const { headers, value } = encodeBinary(event());
    delete headers[name];
    expect(reject(raw(value, headers))).toBe(`header ${name} is required`);
  });

  it('treats a header set to undefined as missing', () => {
    const { headers, value } = encodeBinary(event());
    expect(reject(raw(value, { ...headers, ce_time: undefined }))).toBe('header ce_time is required');
  });

  it('validates header values like structured attributes', () => {
    const { headers, value } = encodeBinary(event());
    expect(reject(raw(value, { ...headers, ce_time: '2026-11-20T10:15:30' }))).toMatch(/^header ce_time must be an RFC 3339 timestamp with a zone offset/);
    expect(reject(raw(value, { ...headers, ce_specversion: '0.3' }))).toBe('header ce_specversion must be "1.0", got "0.3"');
    expect(reject(raw(value, { ...headers, ce_id: '' }))).toBe('header ce_id must not be empty, got ""');
    expect(reject(raw(value, { ...headers, ce_type: 'lms.nope' }))).toBe('header ce_type "lms.nope" is not a known input event type');
  });

  it('rejects a content-type other than JSON, naming the header', () => {
    const { headers, value } = encodeBinary(event());
    expect(reject(raw(value, { ...headers, 'content-type': 'text/plain' }))).toBe(
      'header content-type must be "application/json" (parameters such as charset allowed), got "text/plain"',
    );
  });

  it('defaults an absent content-type to JSON', () => {
    const { headers, value } = encodeBinary(event());
    delete headers['content-type'];
    expect(accept(raw(value, headers)).datacontenttype).toBeNull();
  });

  it('accepts a header repeated with one value and rejects one repeated with two', () => {
    const { headers, value } = encodeBinary(event());
    expect(accept(raw(value, { ...headers, ce_id: ['evt-9381', Buffer.from('evt-9381')] })).id).toBe('evt-9381');
    expect(reject(raw(value, { ...headers, ce_id: ['a', 'b'] }))).toBe('header ce_id is repeated with different values');
  });

  it('rejects a header that is not UTF-8', () => {
    const { headers, value } = encodeBinary(event());
    expect(reject(raw(value, { ...headers, ce_source: Buffer.from([0xc3, 0x28]) }))).toBe('header ce_source is not valid UTF-8');
  });

  it('rejects a value that is not a JSON object', () => {
    const { headers } = encodeBinary(event());
    expect(reject(raw('[1,2]', headers))).toBe('data must be a JSON object, got an array');
    expect(reject(raw('{"course_id":', headers))).toBe('value is not valid JSON at position 13: unexpected end of input');
  });

  it('validates the data with the same paths as structured mode', () => {
    expect(reject(binary(event({ data: { course_id: '42' } })))).toBe('data.course_id must be a positive integer, got "42"');
  });
});

describe('envelope: bounds on headers and on the clock', () => {
  const headers = (count: number, value = 'v') => Object.fromEntries(Array.from({ length: count }, (_, i) => [`x-h${i}`, value]));

  it(`accepts ${MAX_HEADERS} headers and refuses one more, naming the bound`, () => {
    const ok = raw(JSON.stringify(event()), headers(MAX_HEADERS));
    expect(decodeMessage(ok, TEST_TOPICS).ok).toBe(true);
    expect(reject(raw(JSON.stringify(event()), headers(MAX_HEADERS + 1)))).toBe(`headers: the message has more than ${MAX_HEADERS} (the limit)`);
  });

  it(`refuses headers holding more than ${MAX_HEADER_BYTES} bytes in all`, () => {
    expect(reject(raw(JSON.stringify(event()), headers(3, 'x'.repeat(MAX_HEADER_BYTES / 2))))).toMatch(
      /^headers: the message's names and values hold \d+ bytes, over the 65536-byte limit$/,
    );
  });

  const nowMs = Date.parse('2026-12-07T12:00:00Z');
  const clock = { nowMs, maxFutureSkewMs: 300_000 };

  it('refuses an event further ahead of the clock than the skew allows, naming how far', () => {
    const r = decodeMessage(structured(event({ time: '2026-12-07T12:05:01Z' })), TEST_TOPICS, clock);
    expect(r).toEqual({ ok: false, reason: "time 2026-12-07T12:05:01Z is 301 s ahead of this service's clock, more than MAX_FUTURE_SKEW_MS (300000 ms) allows" });
  });

  it('accepts an event at the edge of the skew, one with an offset, and any past one', () => {
    for (const time of ['2026-12-07T12:05:00Z', '2026-12-07T14:04:59+02:00', '2001-01-01T00:00:00Z']) {
      expect(decodeMessage(structured(event({ time })), TEST_TOPICS, clock).ok).toBe(true);
    }
  });

  it('9999-12-31 is refused with a clock, and accepted without one (the contract alone bounds only the calendar)', () => {
    const far = structured(event({ time: '9999-12-31T23:59:59Z' }));
    expect(decodeMessage(far, TEST_TOPICS, clock).ok).toBe(false);
    expect(decodeMessage(far, TEST_TOPICS).ok).toBe(true);
  });
});
