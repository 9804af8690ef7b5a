/**
 * RFC 3339 timestamps at the contract edge. The parsing is the domain lib's (`parseTimestamp`,
 * integer-only, so sub-millisecond digits survive and offsets are applied exactly); this module
 * fixes the syntax the contract accepts and the canonical forms it publishes.
 *
 * Accepted: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, `T`/`Z` in either case, a fraction of
 * 1 to 9 digits, a mandatory zone offset (`-00:00` is read as UTC). A leap second (`:60`) is
 * accepted and pinned to the last representable instant of its minute (`:59.999999`), which
 * keeps it after every other instant of that minute and before the next one. Unlike the domain
 * lib, a space as the date-time separator and fractions over 9 digits are rejected.
 *
 * Range (the contract's rule, stricter than the parser's): years 0001 to 9999 as written and
 * after conversion to UTC, and zone offsets within ±14:00. That is what RFC 3339 timestamps
 * really carry and what Postgres `timestamptz` holds: year 0000 is "1 BC" to Postgres and breaks
 * reading the value back, and no zone on Earth is further than 14 hours from UTC.
 *
 * Two canonical forms, both UTC with `Z`, truncated (never rounded, so a value never moves
 * into the next second):
 * - micros (`2026-11-20T10:15:30.123456Z`): the `time` of input events, i.e. `FactMeta.time`;
 *   being fixed-width, string order is time order.
 * - millis (`2026-11-20T10:15:30.123Z`): timestamps carried inside payloads (`due_at`,
 *   `access_expires_at`, a course's `created_at`), the form rules.md publishes.
 */
import { formatCanonicalMicros, formatCanonicalMillis, parseTimestamp, type ParsedTimestamp, type TimestampSyntax } from '@app/domain';

export { formatCanonicalMicros, formatCanonicalMillis, type ParsedTimestamp };

const CONTRACT_SYNTAX: TimestampSyntax = { spaceSeparator: false, maxFractionDigits: 9 };

/** The widest zone offset accepted, in minutes (UTC+14:00, Kiribati, is the furthest in use). */
export const MAX_OFFSET_MINUTES = 14 * 60;
/** 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in seconds since the Unix epoch. */
const MIN_EPOCH_SECONDS = -62135596800;
const MAX_EPOCH_SECONDS = 253402300799;

const OUT_OF_RANGE = 'is out of range: 0001-01-01 to 9999-12-31 in UTC';

/**
 * Parses an RFC 3339 timestamp with a zone offset in the contract's syntax and range. Returns
 * a string explaining the problem (without the field name) when the value is not one.
 */
export function parseRfc3339(raw: string): ParsedTimestamp | string {
  const t = parseTimestamp(raw, CONTRACT_SYNTAX);
  // The parser's own range (years 0000 to 9999 in UTC) is wider; say the contract's.
  if (typeof t === 'string') return t.startsWith('is out of range') ? OUT_OF_RANGE : t;
  // Parsed, so `raw` has the shape YYYY-MM-DDTHH:MM:SS[.f](Z|±HH:MM).
  if (raw.startsWith('0000')) return 'has year 0000: years run from 0001 to 9999';
  const zone = raw.charCodeAt(raw.length - 6);
  if (zone === 0x2b || zone === 0x2d) {
    const minutes = Number(raw.slice(-5, -3)) * 60 + Number(raw.slice(-2));
    if (minutes > MAX_OFFSET_MINUTES) return 'has a zone offset beyond ±14:00';
  }
  if (t.epochSeconds < MIN_EPOCH_SECONDS || t.epochSeconds > MAX_EPOCH_SECONDS) return OUT_OF_RANGE;
  return t;
}

/** `2026-11-20T12:15:30.1234567+02:00` → `2026-11-20T10:15:30.123456Z`; null when not RFC 3339. */
export function toCanonicalMicros(raw: string): string | null {
  const t = parseRfc3339(raw);
  return typeof t === 'string' ? null : formatCanonicalMicros(t);
}

/** `2026-12-31T23:59:59Z` → `2026-12-31T23:59:59.000Z`; null when not RFC 3339. */
export function toCanonicalMillis(raw: string): string | null {
  const t = parseRfc3339(raw);
  return typeof t === 'string' ? null : formatCanonicalMillis(t);
}

/** A canonical micros time (a `FactMeta.time`) in the published millisecond form, truncated. */
export function microsToMillis(canonicalMicros: string): string {
  return `${canonicalMicros.slice(0, 23)}Z`;
}

/** Matches exactly the canonical millisecond form that every published timestamp uses. */
export const CANONICAL_MILLIS_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$';
export { CANONICAL_MICROS_PATTERN } from '@app/domain';
