/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) as the CloudEvents distributed
 * tracing extension carries it: `traceparent` and `tracestate`, attributes in structured mode,
 * `ce_traceparent` / `ce_tracestate` headers in binary mode. On output the relay sends them as
 * the `traceparent` / `tracestate` Kafka headers.
 *
 * Tracing must never cost data: a context that is absent or malformed is dropped (the event is
 * applied without one), never a contract violation. Pure: no I/O.
 */

export interface TraceContext {
  /** `00-{trace id: 32 hex}-{parent id: 16 hex}-{flags: 2 hex}`, lower case. */
  traceparent: string;
  /** Vendor entries, passed on as received when valid. */
  tracestate?: string;
}

/** The parts of a valid traceparent. */
export interface ParsedTraceparent {
  traceId: string;
  spanId: string;
  /** Bit 0 = sampled. */
  flags: number;
}

export const TRACEPARENT_HEADER = 'traceparent';
export const TRACESTATE_HEADER = 'tracestate';

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[^]*)?$/;
const ALL_ZEROS = /^0+$/;
const TRACESTATE_KEY = /^(?:[a-z][_0-9a-z\-*/]{0,255}|[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13})$/;
const TRACESTATE_VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
const MAX_TRACESTATE_MEMBERS = 32;
const MAX_TRACESTATE_CHARS = 512;

/**
 * A traceparent per the W3C grammar, or undefined. Version 00 must be exactly 55 characters; a
 * higher version may append fields (read as version 00, as the spec asks); `ff`, an all-zero
 * trace id or parent id are invalid.
 */
export function parseTraceparent(text: unknown): ParsedTraceparent | undefined {
  if (typeof text !== 'string' || text.length > 256) return undefined;
  const m = TRACEPARENT.exec(text.trim());
  if (!m) return undefined;
  const [, version, traceId, spanId, flags, rest] = m;
  if (version === 'ff') return undefined;
  if (version === '00' && rest !== undefined) return undefined;
  if (ALL_ZEROS.test(traceId) || ALL_ZEROS.test(spanId)) return undefined;
  return { traceId, spanId, flags: parseInt(flags, 16) };
}

export function formatTraceparent(p: ParsedTraceparent): string {
  return `00-${p.traceId}-${p.spanId}-${(p.flags & 0xff).toString(16).padStart(2, '0')}`;
}

/** Whether a tracestate list is well formed (at most 32 members, unique keys, 512 characters). */
export function isValidTracestate(text: unknown): text is string {
  if (typeof text !== 'string' || text.length > MAX_TRACESTATE_CHARS) return false;
  const members = text
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m !== '');
  if (members.length > MAX_TRACESTATE_MEMBERS) return false;
  const keys = new Set<string>();
  for (const member of members) {
    const eq = member.indexOf('=');
    if (eq < 0) return false;
    const key = member.slice(0, eq);
    if (!TRACESTATE_KEY.test(key) || !TRACESTATE_VALUE.test(member.slice(eq + 1)) || keys.has(key)) return false;
    keys.add(key);
  }
  return true;
}

/**
 * The trace context of an input event, or null when it has no valid traceparent. The traceparent
 * is kept in its version-00 form; a tracestate is kept only beside a valid traceparent and only
 * when itself valid (the W3C rule: an invalid tracestate is discarded, the traceparent stays).
 */
export function readTraceContext(traceparent: unknown, tracestate: unknown): TraceContext | null {
  const parsed = parseTraceparent(traceparent);
  if (parsed === undefined) return null;
  const context: TraceContext = { traceparent: formatTraceparent(parsed) };
  if (isValidTracestate(tracestate) && tracestate.trim() !== '') context.tracestate = tracestate.trim();
  return context;
}

/** W3C Trace Context values as JSON schemas (input attributes and headers; the AsyncAPI document and docs/schemas). */
export const TRACEPARENT_SCHEMA = {
  type: 'string',
  pattern: '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(-.*)?$',
  description: 'W3C traceparent (distributed tracing extension). Optional; ignored when malformed, never a reason to refuse the event.',
};
export const TRACESTATE_SCHEMA = { type: 'string', maxLength: 512, description: 'W3C tracestate, with a valid traceparent only. Optional; dropped when malformed.' };
