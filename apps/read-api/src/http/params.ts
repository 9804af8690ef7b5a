import { BadRequestException } from '@nestjs/common';
import type { Request } from 'express';

/**
 * Query parameters are read from the raw URL rather than `req.query`, so `updated_at[gt]` and
 * repeated parameters arrive the same whatever Express's query parser setting is.
 */
export function rawQuery(req: Request): URLSearchParams {
  const url = req.originalUrl ?? req.url;
  const q = url.indexOf('?');
  try {
    return new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  } catch {
    throw new BadRequestException('malformed query string');
  }
}

/** The single value of a parameter, or undefined; given twice → 400. */
export function single(q: URLSearchParams, name: string): string | undefined {
  const all = q.getAll(name);
  if (all.length > 1) throw new BadRequestException(`${name} must be given at most once`);
  return all[0];
}

const POSITIVE_INT = /^[1-9][0-9]{0,15}$/;
export function positiveInt(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!POSITIVE_INT.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new BadRequestException(`${name} must be a positive integer`);
  }
  return Number(value);
}

export function intInRange(value: string | undefined, name: string, min: number, max: number, dflt: number): number {
  if (value === undefined) return dflt;
  if (!/^(0|[1-9][0-9]{0,15})$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new BadRequestException(`${name} must be an integer from ${min} to ${max}`);
  }
  return Number(value);
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|([+-])(\d{2}):(\d{2}))$/;

/** An RFC 3339 date-time, checked field by field (no Feb 30, no hour 24); returned as given. */
export function rfc3339(value: string, name: string): string {
  // An unencoded "+" of an offset arrives as a space (form decoding): take it back.
  value = value.replace(/ (\d{2}:\d{2})$/, '+$1');
  const m = RFC3339.exec(value);
  const bad = () => new BadRequestException(`${name} must be an RFC 3339 date-time such as 2026-11-20T10:15:30.123Z`);
  if (!m) throw bad();
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth || h > 23 || mi > 59 || s > 59) throw bad();
  if (m[9] && (Number(m[10]) > 23 || Number(m[11]) > 59)) throw bad();
  return value;
}

/** Comma-separated values (repeated parameters allowed), each one of `allowed`. */
export function enumList(values: string[], name: string, allowed: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values.flatMap((x) => x.split(','))) {
    const t = v.trim();
    if (!allowed.includes(t)) {
      throw new BadRequestException(`${name}: ${JSON.stringify(t)} is not one of ${allowed.join(', ')}`);
    }
    if (!out.includes(t)) out.push(t);
  }
  return out;
}
