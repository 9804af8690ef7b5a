/**
 * RFC 3339 timestamps, parsed by hand so that sub-millisecond digits survive (JS `Date` keeps
 * milliseconds only) and offsets are applied exactly.
 *
 * Accepted: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, `T`/`Z` in either case, a fraction of
 * 1 to 9 digits, a mandatory zone offset (`-00:00` is read as UTC). A leap second (`:60`) is
 * accepted and pinned to the last representable instant of its minute (`:59.999999`), which
 * keeps it after every other instant of that minute and before the next one.
 *
 * Two canonical forms, both UTC with `Z`, truncated (never rounded, so a value never moves
 * into the next second):
 * - micros (`2026-11-20T10:15:30.123456Z`): the `time` of input events, i.e. `FactMeta.time`;
 *   being fixed-width, string order is time order.
 * - millis (`2026-11-20T10:15:30.123Z`): timestamps carried inside payloads (`due_at`,
 *   `access_expires_at`, a course's `created_at`), the form rules.md publishes.
 */

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

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

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

export interface ParsedTimestamp {
  /** Whole seconds since the Unix epoch, UTC. */
  epochSeconds: number;
  /** The fraction of the second as exactly 9 digits (nanoseconds). */
  nanos: string;
}

/**
 * Parses an RFC 3339 timestamp with a zone offset. Returns a string explaining the problem
 * (without the field name) when the value is not one.
 */
export function parseRfc3339(raw: string): ParsedTimestamp | string {
  const m = RFC3339.exec(raw);
  if (m === null) return 'must be an RFC 3339 timestamp with a zone offset (e.g. "2026-11-20T10:15:30.123Z")';
  const [, ys, mos, ds, hs, mis, ss, frac, , sign, ohs, oms] = m;
  if (frac !== undefined && frac.length > 9) return 'must have at most 9 fractional second digits';
  const y = +ys, mo = +mos, d = +ds, h = +hs, mi = +mis;
  let s = +ss;
  if (mo < 1 || mo > 12) return 'has a month out of range';
  if (d < 1 || d > daysInMonth(y, mo)) return 'has a day out of range';
  if (h > 23) return 'has an hour out of range';
  if (mi > 59) return 'has a minute out of range';
  if (s > 60) return 'has a second out of range';
  let nanos = frac === undefined ? '000000000' : frac.padEnd(9, '0');
  if (s === 60) {
    s = 59;
    nanos = '999999999';
  }
  let offset = 0;
  if (sign !== undefined) {
    const oh = +ohs, om = +oms;
    if (oh > 23 || om > 59) return 'has a zone offset out of range';
    offset = (sign === '-' ? -1 : 1) * (oh * 3600 + om * 60);
  }
  const epochSeconds = daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset;
  // Keep the UTC result within four-digit years so the canonical form stays fixed-width.
  if (epochSeconds < MIN_EPOCH || epochSeconds > MAX_EPOCH) return 'is out of range (years 0000 to 9999 in UTC)';
  return { epochSeconds, nanos };
}

const MIN_EPOCH = daysFromCivil(0, 1, 1) * 86400;
const MAX_EPOCH = daysFromCivil(9999, 12, 31) * 86400 + 86399;

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

/** `2026-11-20T12:15:30.1234567+02:00` → `2026-11-20T10:15:30.123456Z`; null when not RFC 3339. */
export function toCanonicalMicros(raw: string): string | null {
  const t = parseRfc3339(raw);
  return typeof t === 'string' ? null : formatUtc(t, 6);
}

/** `2026-12-31T23:59:59Z` → `2026-12-31T23:59:59.000Z`; null when not RFC 3339. */
export function toCanonicalMillis(raw: string): string | null {
  const t = parseRfc3339(raw);
  return typeof t === 'string' ? null : formatUtc(t, 3);
}

export function formatCanonicalMicros(t: ParsedTimestamp): string {
  return formatUtc(t, 6);
}

export function formatCanonicalMillis(t: ParsedTimestamp): string {
  return formatUtc(t, 3);
}

/** A canonical micros time (a `FactMeta.time`) in the published millisecond form, truncated. */
export function microsToMillis(canonicalMicros: string): string {
  return `${canonicalMicros.slice(0, 23)}Z`;
}

/** Matches exactly the canonical millisecond form that every published timestamp uses. */
export const CANONICAL_MILLIS_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$';
/** Matches exactly the canonical micros form of `FactMeta.time`. */
export const CANONICAL_MICROS_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{6}Z$';
