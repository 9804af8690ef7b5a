/**
 * Instants as strings.
 *
 * The canonical form of an instant is `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, exactly six fractional
 * digits, four-digit year). Canonical strings are pure ASCII and fixed-width, so plain string
 * comparison (`<`, `>`) is instant comparison: no Date, no floating point, no precision loss (epoch
 * microseconds would overflow Number.MAX_SAFE_INTEGER after year 2255).
 *
 * Parsing decisions (RFC 3339):
 * - `T`/`t`/space as the date-time separator, `Z`/`z` or `±HH:MM` as the offset (`-00:00` is UTC).
 * - Fractions longer than six digits are truncated (never rounded), so an instant never moves forward.
 * - A leap second (`:60`) is clamped to `:59.999999` of the same minute: it stays before the next minute.
 * - Anything else (a missing offset, an impossible date, a year outside 0000–9999 after conversion
 *   to UTC) is rejected: `parseInstant` returns null, `canonicalTime` throws.
 */

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

const daysInMonth = (year: number, month: number): number => {
  if (month === 2) {
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    return leap ? 29 : 28;
  }
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
};

/** True when `s` is already in canonical form (does not check the calendar). */
export function isCanonicalTime(s: string): boolean {
  return CANONICAL.test(s);
}

/** Parses an RFC 3339 timestamp into its canonical UTC form, or null when it is not one. */
export function parseInstant(s: string): string | null {
  const m = RFC3339.exec(s);
  if (!m) return null;
  const [, ys, mos, ds, hs, mis, ss, frac = '', z, sign, ohs, oms] = m;
  const year = Number(ys);
  const month = Number(mos);
  const day = Number(ds);
  const hour = Number(hs);
  const minute = Number(mis);
  let second = Number(ss);
  let micros = (frac + '000000').slice(0, 6);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 60) return null;
  if (second === 60) {
    second = 59;
    micros = '999999';
  }
  let offsetMinutes = 0;
  if (!z) {
    const oh = Number(ohs);
    const om = Number(oms);
    if (oh > 23 || om > 59) return null;
    offsetMinutes = (sign === '-' ? -1 : 1) * (oh * 60 + om);
  }
  // Whole seconds go through Date (exact: milliseconds are integers well inside its range); the
  // microseconds are carried as text. setUTCFullYear avoids Date.UTC's 0–99 → 1900+ mapping.
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute - offsetMinutes, second, 0);
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z, or ±YYYYYY-... outside 0000–9999
  if (!/^\d{4}-/.test(iso)) return null;
  return `${iso.slice(0, 19)}.${micros}Z`;
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
