/**
 * Instants as strings.
 *
 * The canonical form of an instant is `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, exactly six fractional
 * digits, four-digit year). Canonical strings are pure ASCII and fixed-width, so plain string
 * comparison (`<`, `>`) is instant comparison: no Date, no floating point, no precision loss (epoch
 * microseconds would overflow Number.MAX_SAFE_INTEGER after year 2255).
 *
 * This is the one RFC 3339 parser of the project; the contracts lib calls `parseTimestamp` with
 * its stricter input syntax and turns the problems it returns into field-level violations.
 *
 * Parsing decisions (RFC 3339):
 * - `T`/`t`/space as the date-time separator, `Z`/`z` or `±HH:MM` as the offset (`-00:00` is UTC).
 * - Fractions longer than six digits are truncated (never rounded), so an instant never moves forward.
 * - A leap second (`:60`) is clamped to `:59.999999` of the same minute: it stays before the next minute.
 * - Anything else (a missing offset, an impossible date, a year outside 0000–9999 after conversion
 *   to UTC) is rejected: `parseTimestamp` says why, `parseInstant` returns null, `canonicalTime` throws.
 * - Calendar arithmetic is integer-only (proleptic Gregorian), so sub-millisecond digits survive
 *   and offsets are applied exactly.
 */

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})([Tt ])(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
/** Matches exactly the canonical micros form of `FactMeta.time` (`2026-11-20T10:15:30.123456Z`). */
export const CANONICAL_MICROS_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{6}Z$';
const CANONICAL = new RegExp(CANONICAL_MICROS_PATTERN);

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(z: number): [number, number, number] {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

const daysInMonth = (year: number, month: number): number => {
  if (month === 2) {
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    return leap ? 29 : 28;
  }
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
};

// UTC results stay within four-digit years so the canonical form stays fixed-width.
const MIN_EPOCH = daysFromCivil(0, 1, 1) * 86400;
const MAX_EPOCH = daysFromCivil(9999, 12, 31) * 86400 + 86399;

export interface ParsedTimestamp {
  /** Whole seconds since the Unix epoch, UTC. */
  epochSeconds: number;
  /** The fraction of the second as exactly 9 digits (nanoseconds), truncated. */
  nanos: string;
}

/** Which RFC 3339 spellings `parseTimestamp` accepts beyond `YYYY-MM-DDTHH:MM:SS[.f](Z|±HH:MM)`. */
export interface TimestampSyntax {
  /** A space as the date-time separator (RFC 3339 §5.6 note). Default: accepted. */
  spaceSeparator?: boolean;
  /** The longest fraction accepted. Default: any length (digits past nanoseconds are dropped). */
  maxFractionDigits?: number;
}

/**
 * Parses an RFC 3339 timestamp with a zone offset. Returns a string explaining the problem
 * (without a field name, e.g. `has a day out of range`) when the value is not one.
 */
export function parseTimestamp(raw: string, syntax: TimestampSyntax = {}): ParsedTimestamp | string {
  const m = RFC3339.exec(raw);
  if (m === null || (m[4] === ' ' && syntax.spaceSeparator === false)) {
    return 'must be an RFC 3339 timestamp with a zone offset (e.g. "2026-11-20T10:15:30.123Z")';
  }
  const [, ys, mos, ds, , hs, mis, ss, frac = '', , sign, ohs, oms] = m;
  if (syntax.maxFractionDigits !== undefined && frac.length > syntax.maxFractionDigits) {
    return `must have at most ${syntax.maxFractionDigits} fractional second digits`;
  }
  const year = Number(ys);
  const month = Number(mos);
  const day = Number(ds);
  const hour = Number(hs);
  const minute = Number(mis);
  let second = Number(ss);
  if (month < 1 || month > 12) return 'has a month out of range';
  if (day < 1 || day > daysInMonth(year, month)) return 'has a day out of range';
  if (hour > 23) return 'has an hour out of range';
  if (minute > 59) return 'has a minute out of range';
  if (second > 60) return 'has a second out of range';
  let nanos = frac.slice(0, 9).padEnd(9, '0');
  if (second === 60) {
    second = 59;
    nanos = '999999999';
  }
  let offsetSeconds = 0;
  if (sign !== undefined) {
    const oh = Number(ohs);
    const om = Number(oms);
    if (oh > 23 || om > 59) return 'has a zone offset out of range';
    offsetSeconds = (sign === '-' ? -1 : 1) * (oh * 3600 + om * 60);
  }
  const epochSeconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offsetSeconds;
  if (epochSeconds < MIN_EPOCH || epochSeconds > MAX_EPOCH) return 'is out of range (years 0000 to 9999 in UTC)';
  return { epochSeconds, nanos };
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);

function formatUtc(t: ParsedTimestamp, digits: number): string {
  const days = Math.floor(t.epochSeconds / 86400);
  const sod = t.epochSeconds - days * 86400;
  const [y, mo, d] = civilFromDays(days);
  const hh = Math.floor(sod / 3600);
  const mm = Math.floor((sod % 3600) / 60);
  const ss = sod % 60;
  return `${String(y).padStart(4, '0')}-${pad2(mo)}-${pad2(d)}T${pad2(hh)}:${pad2(mm)}:${pad2(ss)}.${t.nanos.slice(0, digits)}Z`;
}

/** The canonical micros form (`2026-11-20T10:15:30.123456Z`), truncated. */
export function formatCanonicalMicros(t: ParsedTimestamp): string {
  return formatUtc(t, 6);
}

/** The millisecond form every published timestamp uses (`2026-11-20T10:15:30.123Z`), truncated. */
export function formatCanonicalMillis(t: ParsedTimestamp): string {
  return formatUtc(t, 3);
}

/** True when `s` is already in canonical form (does not check the calendar). */
export function isCanonicalTime(s: string): boolean {
  return CANONICAL.test(s);
}

/** Parses an RFC 3339 timestamp into its canonical UTC form, or null when it is not one. */
export function parseInstant(s: string): string | null {
  const t = parseTimestamp(s);
  return typeof t === 'string' ? null : formatCanonicalMicros(t);
}

/** Canonical UTC form of an RFC 3339 timestamp; throws on anything else. */
export function canonicalTime(s: string): string {
  const c = isCanonicalTime(s) ? s : parseInstant(s);
  if (c === null) throw new RangeError(`not an RFC 3339 timestamp with a zone offset: ${JSON.stringify(s)}`);
  return c;
}

/**
 * RFC 3339 UTC with milliseconds (`2026-11-20T10:15:30.123Z`), microseconds truncated.
 * Accepts any RFC 3339 timestamp (canonical or not).
 */
export function toMillisIso(s: string): string {
  const c = canonicalTime(s);
  return `${c.slice(0, 23)}Z`;
}

/** Like `toMillisIso` but null-preserving. */
export function toMillisIsoOrNull(s: string | null | undefined): string | null {
  return s === null || s === undefined ? null : toMillisIso(s);
}

/**
 * The smallest millisecond instant that is ≥ `s`, in `toMillisIso` form. A timer armed at this
 * instant is never early: at that wall-clock time `s ≤ now` holds.
 */
export function ceilToMillisIso(s: string): string {
  const c = canonicalTime(s);
  const floor = `${c.slice(0, 23)}Z`;
  if (c.slice(23, 26) === '000') return floor;
  const next = new Date(Date.parse(floor) + 1).toISOString();
  return /^\d{4}-/.test(next) ? next : floor; // 9999-12-31T23:59:59.999xxx has no successor
}

/** Compares two RFC 3339 instants (any offsets/precision): negative, zero or positive. */
export function compareInstants(a: string, b: string): number {
  const x = canonicalTime(a);
  const y = canonicalTime(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
