import { isUtf8 } from 'node:buffer';
import type { AppConfig } from '@app/config';
import type { Fact } from '@app/domain';
import { inputEventDefinition, InputEventType } from './input-events';
import { checkStorableText, DATA_PLACE, ENVELOPE_PLACE, parseStorableJson } from './json';
import { literal, Schema, string, timestamp } from './schema';
import { readTraceContext, TraceContext } from './trace-context';
import { ContractViolation, describeValue } from './violation';

/**
 * Decoding of input messages: the CloudEvents 1.0 envelope (structured or binary mode, Kafka
 * protocol binding) and the payload of every input type, down to a domain `Fact`.
 *
 * Pure and synchronous: no I/O, no clock. Every rejection is a `{ ok: false, reason }` whose
 * reason names the offending field (`data.lesson.status`, `time`, `header ce_id`); the caller
 * dead-letters the message with it.
 *
 * Type vs topic: events.md lists each type on one topic, but the service accepts any known
 * input type on any input topic. The projection depends only on the set of facts (rules.md:
 * "correct whatever the key and whatever the partition"), so a type on an unexpected topic
 * is still applied correctly; dead-lettering it would only lose a valid fact. Unknown types
 * are rejected, as are messages read from a topic that is not an input topic.
 */

/** The input topics (configured names). `AppConfig['topics']` fits. */
export type TopicNames = Pick<AppConfig['topics'], 'courses' | 'memberships' | 'lessonProgress' | 'users'>;

export type HeaderValue = Buffer | string | (Buffer | string)[] | undefined;

export interface KafkaInputMessage {
  topic: string;
  key: Buffer | null;
  value: Buffer | null;
  /** kafkajs delivers Buffers; strings are accepted too. Absent = no headers. */
  headers?: Record<string, HeaderValue>;
}

export interface InputEvent {
  /** How the CloudEvent was carried. */
  mode: 'structured' | 'binary';
  specversion: '1.0';
  id: string;
  source: string;
  type: InputEventType;
  /** `time` exactly as sent; `fact.meta.time` holds its canonical form. */
  time: string;
  subject: string | null;
  datacontenttype: string | null;
  /**
   * The distributed tracing extension (`traceparent`/`tracestate`), when it holds a valid W3C
   * traceparent; null otherwise. Never a reason to refuse the event.
   */
  traceContext: TraceContext | null;
  fact: Fact;
}

export type DecodeResult = { ok: true; event: InputEvent } | { ok: false; reason: string };

/**
 * With `id` (at most 256 characters, events.md) it keys the inbox `processed_events (source, id)`:
 * both together must fit a Postgres B-tree index entry (about 2.7 kB), so `source` is bounded too.
 */
export const MAX_SOURCE_CHARS = 1024;

/** The largest accepted message value: 1 MiB. */
export const MAX_VALUE_BYTES = 1024 * 1024;

/**
 * Header bounds (events.md, "Bad input"): a message may carry at most MAX_HEADERS headers with at
 * most MAX_HEADER_BYTES of names and values in all. The Kafka decoder checks them before anything
 * iterates the headers (libs/messaging, record-decoding.ts), so a flood costs a dead letter, not
 * minutes of one worker's event loop.
 */
export const MAX_HEADERS = 64;
export const MAX_HEADER_BYTES = 64 * 1024;

/** What one header counts against MAX_HEADER_BYTES: its name and its value, in bytes. */
export function headerBytes(name: string, value: Buffer | string): number {
  return Buffer.byteLength(name) + (typeof value === 'string' ? Buffer.byteLength(value) : value.length);
}

/**
 * How far ahead of the service's clock an event's `time` may be (MAX_FUTURE_SKEW_MS): beyond it
 * the event is refused, because a last-writer-wins fact from the future could never be displaced
 * by an honest one.
 */
export interface ClockPolicy {
  nowMs: number;
  maxFutureSkewMs: number;
}

const caseInsensitive = (s: string): string => s.replace(/[a-z]/gi, (c) => `[${c.toUpperCase()}${c.toLowerCase()}]`).replace(/[/+.]/g, (c) => `\\${c}`);

/** `application/json`, any case, parameters (e.g. `; charset=utf-8`) allowed. */
export const JSON_CONTENT_TYPE = new RegExp(`^\\s*${caseInsensitive('application/json')}\\s*(?:;.*)?$`);

/** The envelope attributes, validated identically in both modes (only the path differs). */
export const ENVELOPE_ATTRIBUTES = {
  specversion: literal('1.0', 'CloudEvents version.'),
  id: string({ minLength: 1, maxLength: 256, description: 'With `source`, identifies the event: a repeated pair is a duplicate.' }),
  source: string({
    minLength: 1,
    maxLength: MAX_SOURCE_CHARS,
    check: { test: isUriReference, hint: 'a URI-reference (RFC 3986)', format: 'uri-reference' },
    description: 'Producer of the event, a non-empty URI-reference of at most 1024 characters.',
  }),
  type: string({ minLength: 1, description: 'The event type.' }),
  time: timestamp('micros', 'When the fact happened upstream (not when it was sent): RFC 3339 with a zone offset, up to 9 fractional digits. Orders facts.'),
  subject: string({ maxLength: 1024, description: 'Optional; not interpreted.' }),
  datacontenttype: string({
    maxLength: 255,
    pattern: JSON_CONTENT_TYPE,
    patternHint: '"application/json" (parameters such as charset allowed)',
    description: 'Optional; `application/json` when present.',
  }),
} satisfies Record<string, Schema<string>>;

const REQUIRED_ATTRIBUTES = ['specversion', 'id', 'source', 'type', 'time'] as const;

export const BINARY_HEADERS = {
  specversion: 'ce_specversion',
  id: 'ce_id',
  source: 'ce_source',
  type: 'ce_type',
  time: 'ce_time',
  subject: 'ce_subject',
} as const;

/** Structured-mode content type of the Kafka protocol binding (optional on input). */
export const STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json; charset=UTF-8';

interface Attributes {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  time: string;
  canonicalTime: string;
  subject: string | null;
  datacontenttype: string | null;
}

export function decodeMessage(msg: KafkaInputMessage, topics: TopicNames, clock?: ClockPolicy): DecodeResult {
  try {
    const event = decode(msg, topics);
    if (clock !== undefined) checkNotFromTheFuture(event, clock);
    return { ok: true, event };
  } catch (err) {
    if (err instanceof ContractViolation) return { ok: false, reason: err.message };
    throw err;
  }
}

function decode(msg: KafkaInputMessage, topics: TopicNames): InputEvent {
  if (msg.topic !== topics.courses && msg.topic !== topics.memberships && msg.topic !== topics.lessonProgress && msg.topic !== topics.users) {
    throw new ContractViolation(`topic ${JSON.stringify(msg.topic)} is not one of the input topics`);
  }
  const value = msg.value;
  if (value === null) throw new ContractViolation('message value is null (a tombstone), not a CloudEvent');
  if (value.length > MAX_VALUE_BYTES) {
    throw new ContractViolation(`message value is ${value.length} bytes, over the 1 MiB limit`);
  }

  let contentType: string | undefined;
  let binary = false;
  const headers = msg.headers ?? {};
  checkHeaderBounds(headers);
  for (const name in headers) {
    if (headers[name] === undefined) continue;
    if (name.startsWith('ce_')) binary = true;
    else if (name.length === 12 && name.toLowerCase() === 'content-type') contentType = headerText(headers, name);
  }
  if (contentType !== undefined && /^\s*application\/cloudevents/i.test(contentType)) {
    if (!/^\s*application\/cloudevents\+json\s*(?:;.*)?$/i.test(contentType)) {
      throw new ContractViolation(`header content-type ${describeValue(contentType)} is not supported: structured mode must be application/cloudevents+json`);
    }
    return decodeStructured(value);
  }
  return binary ? decodeBinary(value, headers, contentType) : decodeStructured(value);
}

function decodeStructured(value: Buffer): InputEvent {
  const body = parseStorableJson(value, ENVELOPE_PLACE);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ContractViolation(`value must be a JSON object (a structured-mode CloudEvent), got ${describeValue(body)}`);
  }
  const o = body as Record<string, unknown>;
  const raw = (name: string): unknown => (Object.hasOwn(o, name) ? o[name] : undefined);
  const attrs = readAttributes(
    (name) => raw(name),
    (name) => name,
  );
  const data = raw('data');
  if (data === undefined) {
    if (raw('data_base64') !== undefined) throw new ContractViolation('data_base64 is not supported: data must be a JSON object');
    throw new ContractViolation('data is required');
  }
  return finish('structured', attrs, data, 'data', readTraceContext(raw('traceparent'), raw('tracestate')));
}

function decodeBinary(value: Buffer, headers: Record<string, HeaderValue>, contentType: string | undefined): InputEvent {
  checkCeHeaders(headers);
  const attrs = readAttributes(
    (name) => (name === 'datacontenttype' ? contentType : headerText(headers, BINARY_HEADERS[name as keyof typeof BINARY_HEADERS])),
    (name) => (name === 'datacontenttype' ? 'header content-type' : `header ${BINARY_HEADERS[name as keyof typeof BINARY_HEADERS]}`),
  );
  const data = parseStorableJson(value, DATA_PLACE);
  const trace = readTraceContext(lenientHeaderText(headers, TRACE_HEADERS.traceparent), lenientHeaderText(headers, TRACE_HEADERS.tracestate));
  return finish('binary', attrs, data, 'data', trace);
}

function readAttributes(get: (name: string) => unknown, pathOf: (name: string) => string): Attributes {
  for (const name of REQUIRED_ATTRIBUTES) {
    if (get(name) === undefined) throw new ContractViolation(`${pathOf(name)} is required`);
  }
  const A = ENVELOPE_ATTRIBUTES;
  const specversion = A.specversion.parse(get('specversion'), pathOf('specversion'));
  const id = A.id.parse(get('id'), pathOf('id'));
  const source = A.source.parse(get('source'), pathOf('source'));
  const type = A.type.parse(get('type'), pathOf('type'));
  const time = get('time');
  const canonicalTime = A.time.parse(time, pathOf('time'));
  const subject = get('subject');
  const dct = get('datacontenttype');
  return {
    specversion,
    id,
    source,
    type,
    time: time as string,
    canonicalTime,
    subject: subject === undefined || subject === null ? null : A.subject.parse(subject, pathOf('subject')),
    datacontenttype: dct === undefined || dct === null ? null : A.datacontenttype.parse(dct, pathOf('datacontenttype')),
  };
}

function finish(mode: InputEvent['mode'], a: Attributes, data: unknown, dataPath: string, traceContext: TraceContext | null): InputEvent {
  const def = inputEventDefinition(a.type);
  if (def === undefined) {
    throw new ContractViolation(`${mode === 'binary' ? 'header ce_type' : 'type'} ${JSON.stringify(a.type)} is not a known input event type`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ContractViolation(`${dataPath} must be a JSON object, got ${describeValue(data)}`);
  }
  const parsed = def.data.parse(data, dataPath);
  const fact = def.toFact(parsed, { time: a.canonicalTime, source: a.source, id: a.id, type: a.type });
  return {
    mode,
    specversion: a.specversion,
    id: a.id,
    source: a.source,
    type: a.type as InputEventType,
    time: a.time,
    subject: a.subject,
    datacontenttype: a.datacontenttype,
    traceContext,
    fact,
  };
}

function checkHeaderBounds(headers: Record<string, HeaderValue>): void {
  let count = 0;
  let bytes = 0;
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) {
      count++;
      bytes += headerBytes(name, one);
    }
    if (count > MAX_HEADERS) throw new ContractViolation(`headers: the message has more than ${MAX_HEADERS} (the limit)`);
  }
  if (bytes > MAX_HEADER_BYTES) throw new ContractViolation(`headers: the message's names and values hold ${bytes} bytes, over the ${MAX_HEADER_BYTES}-byte limit`);
}

function checkNotFromTheFuture(event: InputEvent, clock: ClockPolicy): void {
  const at = Date.parse(`${event.fact.meta.time.slice(0, 23)}Z`);
  const ahead = at - clock.nowMs;
  if (ahead > clock.maxFutureSkewMs) {
    throw new ContractViolation(
      `time ${event.time} is ${Math.round(ahead / 1000)} s ahead of this service's clock, more than MAX_FUTURE_SKEW_MS (${clock.maxFutureSkewMs} ms) allows`,
    );
  }
}

/**
 * In binary mode every `ce_` header is a CloudEvents attribute, whether this service reads it
 * or not: none may carry what the stores cannot hold (a dead letter or a replay copies them).
 */
function checkCeHeaders(headers: Record<string, HeaderValue>): void {
  for (const name in headers) {
    if (!name.startsWith('ce_') || name === TRACE_HEADERS.traceparent || name === TRACE_HEADERS.tracestate) continue;
    const v = headers[name];
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) {
      if (typeof one !== 'string' && !isUtf8(one)) throw new ContractViolation(`header ${name} is not valid UTF-8`);
      checkStorableText(one.toString(), `header ${name}`);
    }
  }
}

/**
 * The tracing extension in binary mode. Read leniently (a malformed or repeated one is ignored,
 * not a violation): tracing must never dead-letter data. Only a valid context is stored.
 */
export const TRACE_HEADERS = { traceparent: 'ce_traceparent', tracestate: 'ce_tracestate' } as const;

function lenientHeaderText(headers: Record<string, HeaderValue>, name: string): string | undefined {
  const v = headers[name];
  const values = v === undefined ? [] : Array.isArray(v) ? v : [v];
  const texts = new Set(values.map((one) => one.toString()));
  return texts.size === 1 ? [...texts][0] : undefined;
}

/** One header as text; a header repeated with different values is ambiguous and rejected. */
function headerText(headers: Record<string, HeaderValue>, name: string): string | undefined {
  let v = headers[name];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) {
    if (v.length === 0) return undefined;
    const first = v[0].toString();
    for (let i = 1; i < v.length; i++) {
      if (v[i].toString() !== first) throw new ContractViolation(`header ${name} is repeated with different values`);
    }
    v = v[0];
  }
  if (typeof v !== 'string' && !isUtf8(v)) throw new ContractViolation(`header ${name} is not valid UTF-8`);
  const text = v.toString();
  checkStorableText(text, `header ${name}`);
  return text;
}

/**
 * RFC 3986 URI-reference (a URI or a relative reference), as CloudEvents requires of `source`.
 * ASCII only: an IRI must be percent-encoded. IP literals are checked loosely (brackets and
 * their allowed characters), the rest of the grammar exactly.
 */
const PCT = '%[0-9A-Fa-f]{2}';
const UNRESERVED_SUB = "A-Za-z0-9\\-._~!$&'()*+,;=";
const PCHAR = `(?:[${UNRESERVED_SUB}:@]|${PCT})`;
const PATH_REST = `(?:${PCHAR}|/)*`;
const QUERY_OR_FRAGMENT = `(?:${PCHAR}|[/?])*`;
const USERINFO = `(?:[${UNRESERVED_SUB}:]|${PCT})*`;
const REG_NAME = `(?:[${UNRESERVED_SUB}]|${PCT})*`;
const IP_LITERAL = `\\[[${UNRESERVED_SUB}:]+\\]`;
const AUTHORITY = `(?:${USERINFO}@)?(?:${IP_LITERAL}|${REG_NAME})(?::[0-9]*)?`;
const SCHEME = '[A-Za-z][A-Za-z0-9+\\-.]*';
const SEGMENT_NZ_NC = `(?:[${UNRESERVED_SUB}@]|${PCT})+`;
const TAIL = `(?:\\?${QUERY_OR_FRAGMENT})?(?:#${QUERY_OR_FRAGMENT})?`;
const URI = `${SCHEME}:(?://${AUTHORITY}(?:/${PATH_REST})?|${PATH_REST})${TAIL}`;
const RELATIVE = `(?://${AUTHORITY}(?:/${PATH_REST})?|/${PATH_REST}|${SEGMENT_NZ_NC}(?:/${PATH_REST})?|)${TAIL}`;

export const URI_REFERENCE = new RegExp(`^(?:${URI}|${RELATIVE})$`);

export function isUriReference(value: string): boolean {
  return URI_REFERENCE.test(value);
}
