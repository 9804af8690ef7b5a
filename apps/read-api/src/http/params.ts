import { BadRequestException } from '@nestjs/common';
import type { Request } from 'express';
import { formatCanonicalMicros, parseTimestamp } from '@app/domain';

/**
 * Every query parameter of every route is checked here, at the edge, before anything reaches
 * SQL: a value Postgres cannot take (a NUL character, a zone offset over 15:59, year 0000) must
 * be a 400 naming the parameter, never a 500 from the database.
 */

/** How much of a client's value an error message echoes (escaped by JSON.stringify). */
const ECHO_MAX = 64;
export const echo = (s: string): string => JSON.stringify(s.length > ECHO_MAX ? `${s.slice(0, ECHO_MAX)}…` : s);

/**
 * A route's query string, read from the raw URL rather than `req.query` so that `updated_at[gt]`,
 * `course_id[]` and repeated parameters arrive as sent whatever Express's query parser does.
 *
 * Only the names the route declares are accepted, each at most once (except the `repeatable`
 * ones): a repeated scalar, an array form (`course_id[]`, `course_id[0]`) or an unknown name is a
 * 400 naming it, because ignoring it would answer as if the client had not filtered at all.
 */
export class QueryParams {
  private constructor(private readonly q: URLSearchParams) {}

  static of(req: Request, declared: readonly string[], repeatable: readonly string[] = []): QueryParams {
    const url = req.originalUrl ?? req.url;
    const at = url.indexOf('?');
    const q = new URLSearchParams(at < 0 ? '' : url.slice(at + 1));
    for (const key of new Set(q.keys())) {
      if (declared.includes(key)) {
        if (!repeatable.includes(key) && q.getAll(key).length > 1) throw new BadRequestException(`${key} must be given at most once`);
        continue;
      }
      const arrayOf = declared.find((d) => key.startsWith(`${d}[`));
      if (arrayOf !== undefined) {
        throw new BadRequestException(`${arrayOf} must be given as ${arrayOf}=value, not in array form (${echo(key)})`);
      }
      if (key.startsWith('updated_at') && declared.some((d) => d.startsWith('updated_at['))) {
        throw new BadRequestException(`${echo(key)}: use updated_at[gt], updated_at[gte], updated_at[lt] or updated_at[lte]`);
      }
      const takes = declared.length === 0 ? 'no parameters' : declared.join(', ');
      throw new BadRequestException(`unknown parameter ${echo(key)}; this route takes ${takes}`);
    }
    return new QueryParams(q);
  }

  /** The value of a declared, non-repeatable parameter, or undefined. */
  single(name: string): string | undefined {
    return this.q.get(name) ?? undefined;
  }

  /** Every value of a repeatable parameter, in order. */
  all(name: string): string[] {
    return this.q.getAll(name);
  }
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

/** A date-time filter: the value as the client wrote it, and the same instant as Postgres reads it. */
export interface DateTimeFilter {
  given: string;
  /** UTC with microseconds, `BC` for year 0000 (1 BC), which Postgres cannot read as `0000`. */
  sql: string;
}

/**
 * An RFC 3339 date-time (the project's one parser, `parseTimestamp`), converted to UTC here:
 * Postgres refuses zone offsets beyond ±15:59 and year 0000, both of which RFC 3339 can express
 * (`0001-01-01T00:00:00+01:00` is in year 0000 UTC). Instants outside years 0000–9999 UTC → 400.
 */
export function rfc3339(value: string, name: string): DateTimeFilter {
  // An unencoded "+" of an offset arrives as a space (form decoding): take it back.
  const given = value.replace(/ (\d{2}:\d{2})$/, '+$1');
  const t = parseTimestamp(given, { spaceSeparator: false, maxFractionDigits: 9 });
  if (typeof t === 'string') {
    throw new BadRequestException(`${name} ${t.replace(/^must be an RFC 3339 timestamp/, 'must be an RFC 3339 date-time')}, got ${echo(value)}`);
  }
  const utc = formatCanonicalMicros(t); // YYYY-MM-DDTHH:MM:SS.ffffffZ
  const sql = utc.startsWith('0000-') ? `0001-${utc.slice(5, 10)} ${utc.slice(11, 26)}+00 BC` : `${utc.slice(0, 10)} ${utc.slice(11, 26)}+00`;
  return { given, sql };
}

/** Comma-separated values, each one of `allowed`, duplicates dropped. */
export function enumList(values: string[], name: string, allowed: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values.flatMap((x) => x.split(','))) {
    const t = v.trim();
    if (!allowed.includes(t)) throw new BadRequestException(`${name}: ${echo(t)} is not one of ${allowed.join(', ')}`);
    if (!out.includes(t)) out.push(t);
  }
  return out;
}

/**
 * Free text for a substring search: bounded, without NUL (which Postgres text cannot hold), and
 * in NFC, the form the search compares in (member-list.query.ts, `searchForm`).
 */
export function searchText(value: string | undefined, name: string, maxLength: number): string {
  if (value === undefined) return '';
  if (value.length > maxLength) throw new BadRequestException(`${name} must be at most ${maxLength} characters`);
  if (value.includes('\u0000')) throw new BadRequestException(`${name} must not contain a NUL character`);
  return value.normalize('NFC');
}

/**
 * The path parameters of the routes, by the path prefix before them. Express decodes path
 * parameters before any route runs, so an undecodable one (`/api/v2/course/%80/`) fails before
 * a controller could name it: the error filter names it from here.
 */
const PATH_PARAMETERS: readonly { prefix: string; name: string }[] = [
  { prefix: '/api/v2/course/', name: 'course_id' },
  { prefix: '/unified/lms/course-enrollments/', name: 'id' },
];

export function undecodablePathMessage(url: string): string {
  const path = url.split('?')[0];
  const param = PATH_PARAMETERS.find((p) => path.startsWith(p.prefix));
  return `${param ? param.name : 'a path segment'} is not valid percent-encoded UTF-8`;
}
