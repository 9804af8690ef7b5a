import { parseRfc3339, formatCanonicalMillis, formatCanonicalMicros } from './time';
import { childPath } from './json';
import { ContractViolation, violation } from './violation';

/**
 * A tiny schema language: each schema both validates-and-normalises a decoded JSON value
 * (`parse`, hand-written and allocation-light, it runs on every message) and describes itself
 * as JSON Schema (`json`, used to generate the AsyncAPI document). One description, two uses,
 * so the code and the published contract cannot drift apart.
 *
 * `parse` throws a `ContractViolation` whose message starts with the field's path.
 */
export type JsonSchema = { [keyword: string]: unknown };

export interface JsonSchemaContext {
  /** Registers a named schema once (as `components.schemas.<name>`) and returns a `$ref` to it. */
  ref(name: string, build: () => JsonSchema): JsonSchema;
}

export interface Schema<T> {
  parse(value: unknown, path: string): T;
  json(ctx: JsonSchemaContext): JsonSchema;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Counts code points (what "characters" means here and in JSON Schema's maxLength). */
function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

const withDescription = (json: JsonSchema, description: string | undefined): JsonSchema => (description === undefined ? json : { description, ...json });

// ---------------------------------------------------------------------------------------------
// Scalars

/** A positive safe integer (ids of courses, sections, lessons and users). */
export function positiveId(description?: string): Schema<number> {
  return integer({ min: 1, description });
}

export function integer(opts: { min?: number; max?: number; description?: string } = {}): Schema<number> {
  const { min, max, description } = opts;
  const expectation =
    min === 1 && max === undefined
      ? 'must be a positive integer'
      : min !== undefined && max !== undefined
        ? `must be an integer from ${min} to ${max}`
        : min !== undefined
          ? `must be an integer ≥ ${min}`
          : max !== undefined
            ? `must be an integer ≤ ${max}`
            : 'must be an integer';
  return {
    parse(v, path) {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || (min !== undefined && v < min) || (max !== undefined && v > max)) {
        throw violation(path, expectation, v);
      }
      return v;
    },
    json: () =>
      withDescription(
        {
          type: 'integer',
          minimum: min ?? Number.MIN_SAFE_INTEGER,
          maximum: max ?? Number.MAX_SAFE_INTEGER,
        },
        description,
      ),
  };
}

export function number(opts: { min?: number; max?: number; description?: string } = {}): Schema<number> {
  const { min, max, description } = opts;
  const expectation = min !== undefined && max !== undefined ? `must be a number from ${min} to ${max}` : 'must be a finite number';
  return {
    parse(v, path) {
      if (typeof v !== 'number' || !Number.isFinite(v) || (min !== undefined && v < min) || (max !== undefined && v > max)) {
        throw violation(path, expectation, v);
      }
      return v;
    },
    json: () => withDescription({ type: 'number', ...(min !== undefined ? { minimum: min } : {}), ...(max !== undefined ? { maximum: max } : {}) }, description),
  };
}

export function boolean(description?: string): Schema<boolean> {
  return {
    parse(v, path) {
      if (typeof v !== 'boolean') throw violation(path, 'must be true or false', v);
      return v;
    },
    json: () => withDescription({ type: 'boolean' }, description),
  };
}

export interface StringOptions {
  minLength?: number;
  maxLength?: number;
  /** Checked with `test`; its `source` is published as the JSON Schema `pattern`. */
  pattern?: RegExp;
  /** What the pattern means, for error messages ("letters, digits, - and _"). */
  patternHint?: string;
  /** An extra check (e.g. URI-reference) with its own hint; not expressible as a pattern. */
  check?: { test: (s: string) => boolean; hint: string; format?: string };
  format?: string;
  description?: string;
}

export function string(opts: StringOptions = {}): Schema<string> {
  const { minLength, maxLength, pattern, patternHint, check, description } = opts;
  return {
    parse(v, path) {
      if (typeof v !== 'string') throw violation(path, 'must be a string', v);
      // Code points ≤ UTF-16 length, so count only when the cheap bound is inconclusive.
      if (minLength !== undefined && v.length < 2 * minLength && codePoints(v) < minLength) {
        throw violation(path, minLength === 1 ? 'must not be empty' : `must have at least ${minLength} characters`, v);
      }
      if (maxLength !== undefined && v.length > maxLength) {
        const count = codePoints(v);
        if (count > maxLength) throw new ContractViolation(`${path} must have at most ${maxLength} characters, got ${count}`);
      }
      if (pattern !== undefined && !pattern.test(v)) throw violation(path, `must be ${patternHint ?? `match ${pattern.source}`}`, v);
      if (check !== undefined && !check.test(v)) throw violation(path, `must be ${check.hint}`, v);
      return v;
    },
    json: () =>
      withDescription(
        {
          type: 'string',
          ...(minLength !== undefined ? { minLength } : {}),
          ...(maxLength !== undefined ? { maxLength } : {}),
          ...(pattern !== undefined ? { pattern: pattern.source } : {}),
          ...((opts.format ?? check?.format) !== undefined ? { format: opts.format ?? check?.format } : {}),
        },
        description,
      ),
  };
}

const quoteList = (values: readonly unknown[]): string => {
  const q = values.map((v) => JSON.stringify(v));
  return q.length <= 2 ? q.join(' or ') : `one of ${q.join(', ')}`;
};

export function oneOf<const V extends readonly string[]>(values: V, description?: string): Schema<V[number]> {
  const set = new Set<unknown>(values);
  const expectation = `must be ${quoteList(values)}`;
  return {
    parse(v, path) {
      if (!set.has(v)) throw violation(path, expectation, v);
      return v as V[number];
    },
    json: () => withDescription({ type: 'string', enum: [...values] }, description),
  };
}

export function literal<const V extends string>(value: V, description?: string): Schema<V> {
  return {
    parse(v, path) {
      if (v !== value) throw violation(path, `must be ${JSON.stringify(value)}`, v);
      return value;
    },
    json: () => withDescription({ type: 'string', const: value }, description),
  };
}

/**
 * An RFC 3339 timestamp with a zone offset, normalised to UTC: `millis` gives the published
 * form (`…:59.000Z`), `micros` the fact-ordering form (`…:59.000000Z`).
 */
export function timestamp(precision: 'millis' | 'micros', description?: string): Schema<string> {
  const format = precision === 'millis' ? formatCanonicalMillis : formatCanonicalMicros;
  return {
    parse(v, path) {
      if (typeof v !== 'string') throw violation(path, 'must be an RFC 3339 timestamp string', v);
      const t = parseRfc3339(v);
      if (typeof t === 'string') throw violation(path, t, v);
      return format(t);
    },
    json: () => withDescription({ type: 'string', format: 'date-time' }, description),
  };
}

export interface JsonObjectOptions {
  /** The most UTF-8 bytes each property's value may take as JSON (`JSON.stringify`). */
  maxValueBytes?: number;
  /** The most UTF-8 bytes the whole object may take as JSON. */
  maxBytes?: number;
  description?: string;
}

/**
 * Any JSON object, kept as is (custom fields). Sizes are measured on what is stored: the
 * `JSON.stringify` form, in UTF-8 bytes (the depth and the characters were checked when the
 * message was parsed, so this cannot overflow the stack).
 */
export function jsonObject(opts: JsonObjectOptions = {}): Schema<Record<string, unknown>> {
  const { maxValueBytes, maxBytes, description } = opts;
  return {
    parse(v, path) {
      if (!isObject(v)) throw violation(path, 'must be a JSON object', v);
      if (maxBytes === undefined && maxValueBytes === undefined) return v;
      const total = jsonBytes(v);
      if (maxBytes !== undefined && total > maxBytes) {
        throw new ContractViolation(`${path} must take at most ${maxBytes} bytes as JSON, got ${total}`);
      }
      // No value is larger than the whole object: only a large object needs a closer look.
      if (maxValueBytes !== undefined && total > maxValueBytes) {
        for (const key of Object.keys(v)) {
          const bytes = jsonBytes(v[key]);
          if (bytes > maxValueBytes) {
            throw new ContractViolation(`${childPath(path, key)} must take at most ${maxValueBytes} bytes as JSON, got ${bytes}`);
          }
        }
      }
      return v;
    },
    json: () => withDescription({ type: 'object' }, description),
  };
}

const jsonBytes = (v: unknown): number => Buffer.byteLength(JSON.stringify(v) ?? '', 'utf8');

// ---------------------------------------------------------------------------------------------
// Combinators

export function nullable<T>(inner: Schema<T>): Schema<T | null> {
  return {
    parse: (v, path) => (v === null ? null : inner.parse(v, path)),
    json: (ctx) => orNull(inner.json(ctx)),
  };
}

/** Reads `null` as the empty value `{}` before validating (an object whose fields all default). */
export function nullAsEmpty<T>(inner: Schema<T>): Schema<T> {
  return {
    parse: (v, path) => inner.parse(v === null ? {} : v, path),
    json: (ctx) => orNull(inner.json(ctx)),
  };
}

function orNull(json: JsonSchema): JsonSchema {
  const { description, ...rest } = json;
  if (Array.isArray(rest.type) && rest.type.includes('null')) return json;
  if (Array.isArray(rest.oneOf) && rest.oneOf.some((s) => (s as JsonSchema).type === 'null')) return json;
  let out: JsonSchema;
  if (Array.isArray(rest.enum)) out = { ...rest, type: [rest.type, 'null'], enum: [...rest.enum, null] };
  else if (typeof rest.type === 'string' && rest.$ref === undefined) out = { ...rest, type: [rest.type, 'null'] };
  else out = { oneOf: [rest, { type: 'null' }] };
  return withDescription(out, description as string | undefined);
}

export function arrayOf<T>(items: Schema<T>, opts: { maxItems?: number; description?: string } = {}): Schema<T[]> {
  const { maxItems, description } = opts;
  return {
    parse(v, path) {
      if (!Array.isArray(v)) throw violation(path, 'must be an array', v);
      if (maxItems !== undefined && v.length > maxItems) {
        throw new ContractViolation(`${path} must have at most ${maxItems} entries, got ${v.length}`);
      }
      const out = new Array<T>(v.length);
      for (let i = 0; i < v.length; i++) out[i] = items.parse(v[i], `${path}[${i}]`);
      return out;
    },
    json: (ctx) => withDescription({ type: 'array', items: items.json(ctx), ...(maxItems !== undefined ? { maxItems } : {}) }, description),
  };
}

/** Publishes the schema once under `components.schemas.<name>` and refers to it elsewhere. */
export function named<T>(name: string, inner: Schema<T>): Schema<T> {
  return { ...inner, json: (ctx) => ctx.ref(name, () => inner.json(ctx)) };
}

// ---------------------------------------------------------------------------------------------
// Objects

interface FieldBase<T> {
  readonly schema: Schema<T>;
  readonly description?: string;
}
/** Must be present (it may still be `null` when its schema is nullable). */
export interface Required<T> extends FieldBase<T> {
  readonly mode: 'required';
}
/** Absent or `null` → the default (an upsert replaces a whole snapshot, so defaults fill it). */
export interface Optional<T> extends FieldBase<T> {
  readonly mode: 'optional';
  readonly fallback: () => T;
  readonly defaultValue: T;
}
/** Absent → `undefined` ("unchanged"); present (even `null`) → validated by its schema. */
export interface Maybe<T> extends FieldBase<T> {
  readonly mode: 'maybe';
}
export type Field<T> = Required<T> | Optional<T> | Maybe<T>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Shape = Record<string, Field<any>>;

export type ObjectOf<S extends Shape> = {
  [K in keyof S as S[K] extends Maybe<unknown> ? never : K]: S[K] extends Field<infer T> ? T : never;
} & {
  [K in keyof S as S[K] extends Maybe<unknown> ? K : never]?: S[K] extends Field<infer T> ? T : never;
};

export const required = <T>(schema: Schema<T>, description?: string): Required<T> => ({ mode: 'required', schema, description });

export const optional = <T>(schema: Schema<T>, defaultValue: T, description?: string): Optional<T> => ({
  mode: 'optional',
  schema,
  description,
  defaultValue,
  // Never hand out a shared mutable default.
  fallback: Array.isArray(defaultValue) ? () => [] as unknown as T : isObject(defaultValue) ? () => ({ ...defaultValue }) : () => defaultValue,
});

export const maybe = <T>(schema: Schema<T>, description?: string): Maybe<T> => ({ mode: 'maybe', schema, description });

/**
 * An object with the given fields. Unknown extra properties are ignored (forward
 * compatibility: producers may add fields before this service knows them).
 */
export function object<S extends Shape>(shape: S, description?: string): Schema<ObjectOf<S>> {
  const fields = Object.entries(shape);
  return {
    parse(v, path) {
      if (!isObject(v)) throw violation(path, 'must be an object', v);
      const out: Record<string, unknown> = {};
      for (let i = 0; i < fields.length; i++) {
        const [key, field] = fields[i];
        const raw = Object.hasOwn(v, key) ? v[key] : undefined;
        const p = path === '' ? key : `${path}.${key}`;
        if (raw === undefined) {
          if (field.mode === 'required') throw new ContractViolation(`${p} is required`);
          if (field.mode === 'optional') out[key] = field.fallback();
        } else if (raw === null && field.mode === 'optional') {
          out[key] = field.fallback();
        } else {
          out[key] = field.schema.parse(raw, p);
        }
      }
      return out as ObjectOf<S>;
    },
    json(ctx) {
      const properties: Record<string, JsonSchema> = {};
      const requiredKeys: string[] = [];
      for (const [key, field] of fields) {
        let json = field.schema.json(ctx);
        if (field.mode === 'required') requiredKeys.push(key);
        if (field.mode === 'optional') {
          json = orNull(json);
          json = { ...json, default: field.defaultValue };
        }
        if (field.description !== undefined) {
          json = json.$ref !== undefined ? { allOf: [json], description: field.description } : { ...json, description: field.description };
        }
        properties[key] = json;
      }
      return withDescription({ type: 'object', properties, ...(requiredKeys.length > 0 ? { required: requiredKeys } : {}) }, description);
    },
  };
}
