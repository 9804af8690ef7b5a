import { isUtf8 } from 'node:buffer';
import { ContractViolation, violation } from './violation';

/**
 * Decodes a Kafka message value as UTF-8 JSON. The fast path is `JSON.parse`; only when it
 * fails does a small scanner walk the text again to say where and why, because V8's own
 * messages do not always carry a position.
 */
export function parseJsonValue(value: Buffer, what = 'value'): unknown {
  return parseJsonText(utf8Text(value, what), what);
}

/**
 * Decodes an input message value like `parseJsonValue`, and also holds it to the limits the
 * stores have (see `checkNestingDepth` and `checkStorableValue`): what this returns, Postgres
 * can store and `JSON.stringify` can write back.
 */
export function parseStorableJson(value: Buffer, at: JsonPlace, what = 'value'): unknown {
  const text = utf8Text(value, what);
  checkNestingDepth(text, at);
  const parsed = parseJsonText(text, what);
  checkStorableValue(parsed, at);
  return parsed;
}

function utf8Text(value: Buffer, what: string): string {
  if (!isUtf8(value)) throw new ContractViolation(`${what} is not valid UTF-8`);
  const text = value.toString('utf8');
  // RFC 8259 lets a parser ignore a byte order mark; tolerate one rather than dead-letter.
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function parseJsonText(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const where = locateJsonError(text);
    if (where === null) throw new ContractViolation(`${what} is not valid JSON: ${(err as Error).message}`);
    throw new ContractViolation(`${what} is not valid JSON at position ${where.position}: ${where.problem}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Limits of the stores

/**
 * The deepest nesting of objects and arrays accepted, counting `data` as level 1 in both modes.
 * Real payloads nest a few levels; recursive code downstream (and V8's own `JSON.parse`, which
 * slows down badly on deep input) must never see thousands.
 */
export const MAX_JSON_DEPTH = 32;

/** Where a decoded JSON value sits in the message, for depth counting and for reasons. */
export interface JsonPlace {
  /** Its path in reasons: `''` for a structured-mode envelope, `'data'` for a binary-mode value. */
  path: string;
  /** The nesting level of the value itself when it is an object or array: 0 for an envelope, 1 for `data`. */
  level: number;
}

/** The top level of a structured-mode value: the envelope, around `data`. */
export const ENVELOPE_PLACE: JsonPlace = { path: '', level: 0 };
/** A binary-mode value: `data` itself. */
export const DATA_PLACE: JsonPlace = { path: 'data', level: 1 };

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const MAX_SHOWN_KEY = 40;

/** `path` extended by an object key, as reasons write it: `data.course`, `data.custom_fields["a b"]`. */
export function childPath(path: string, key: string): string {
  if (IDENTIFIER.test(key)) return path === '' ? key : `${path}.${key}`;
  const shown = key.length > MAX_SHOWN_KEY ? `${key.slice(0, MAX_SHOWN_KEY)}…` : key;
  return `${path}[${JSON.stringify(shown)}]`;
}

const SUSPECT = /[\u0000\ud800-\udfff]/;

/**
 * What in `s` no store can hold, or null: a NUL character (Postgres text and jsonb refuse it)
 * or a lone UTF-16 surrogate (not a character: no UTF-8 encoding, jsonb refuses its escape).
 */
export function unstorableCharacter(s: string): string | null {
  if (!SUSPECT.test(s)) return null;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) return 'a NUL character (U+0000)';
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
    }
    return `a lone surrogate (an unpaired U+${c.toString(16).toUpperCase()})`;
  }
  return null;
}

/** Throws a violation naming `path` when the string holds something no store can hold. */
export function checkStorableText(s: string, path: string): void {
  const problem = unstorableCharacter(s);
  if (problem !== null) throw violation(path, `must not contain ${problem}`, s);
}

/**
 * Rejects JSON text nesting deeper than `MAX_JSON_DEPTH` before it is parsed, in one pass with
 * no recursion, so a 100,000-deep value costs a scan up to its 33rd level and nothing more.
 * Only brackets outside strings count; anything else is left to `JSON.parse`. The reason names
 * the first container too deep, by the keys and indexes that lead to it.
 */
export function checkNestingDepth(text: string, at: JsonPlace): void {
  const slots = MAX_JSON_DEPTH - at.level + 1;
  // Per open container (outermost first): array or object, index of the current element,
  // position of the current key's string literal.
  const isArray: boolean[] = new Array(slots);
  const index: number[] = new Array(slots);
  const keyStart: number[] = new Array(slots);
  const keyEnd: number[] = new Array(slots);
  let top = -1;
  let expectKey = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const start = i;
      i = closingQuote(text, i);
      if (expectKey && top >= 0 && !isArray[top]) {
        keyStart[top] = start;
        keyEnd[top] = i + 1;
        expectKey = false;
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (at.level + top + 1 > MAX_JSON_DEPTH) {
        let path = at.path;
        for (let s = 0; s <= top; s++) {
          path = isArray[s] ? `${path}[${index[s]}]` : childPath(path, keyStart[s] < 0 ? '?' : keyText(text, keyStart[s], keyEnd[s]));
        }
        throw new ContractViolation(`${path} is nested more than ${MAX_JSON_DEPTH} levels deep`);
      }
      top++;
      isArray[top] = c === 0x5b;
      index[top] = 0;
      keyStart[top] = -1;
      expectKey = c === 0x7b;
    } else if (c === 0x7d || c === 0x5d) {
      if (top >= 0) top--;
      expectKey = false;
    } else if (c === 0x2c && top >= 0) {
      if (isArray[top]) index[top]++;
      else expectKey = true;
    }
  }
}

/** Index of the quote closing the string literal that opens at `open` (or the text's length). */
function closingQuote(text: string, open: number): number {
  let j = open + 1;
  for (;;) {
    j = text.indexOf('"', j);
    if (j < 0) return text.length;
    let b = j - 1;
    while (b > open && text.charCodeAt(b) === 0x5c) b--;
    if ((j - 1 - b) % 2 === 0) return j; // an even run of backslashes escapes only itself
    j++;
  }
}

const SIMPLE_ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/** The key a string literal spells (for a reason only: without `JSON.parse`, tolerant of bad escapes). */
function keyText(text: string, start: number, end: number): string {
  const body = text.slice(start + 1, Math.max(start + 1, end - 1));
  if (!body.includes('\\')) return body;
  return body.replace(/\\(u[0-9A-Fa-f]{4}|.)/g, (m, e: string) => (e.length === 5 ? String.fromCharCode(parseInt(e.slice(1), 16)) : (SIMPLE_ESCAPES[e] ?? m)));
}

interface Frame {
  node: Record<string, unknown> | unknown[];
  /** The object's keys; null for an array. */
  keys: string[] | null;
  /** The next child to visit; `next - 1` is the one being checked. */
  next: number;
}

const frameOf = (node: Record<string, unknown> | unknown[]): Frame => ({
  node,
  keys: Array.isArray(node) ? null : Object.keys(node),
  next: 0,
});

/** The path of the child being checked at `depth`; the top of a structured-mode value is `value`. */
function framePath(at: JsonPlace, stack: Frame[], depth: number): string {
  let path = at.path;
  for (let s = 0; s < depth; s++) {
    const f = stack[s];
    path = f.keys === null ? `${path}[${f.next - 1}]` : childPath(path, f.keys[f.next - 1]);
  }
  return path === '' ? 'value' : path;
}

/**
 * Checks every string (object keys included) and number of a parsed value against what the
 * stores hold: no NUL, no lone surrogate, no number beyond a double's range (`1e400` parses to
 * Infinity, which `JSON.stringify` would silently write as null). Iterative: the depth was
 * bounded by `checkNestingDepth`, but this walk does not depend on it.
 */
export function checkStorableValue(value: unknown, at: JsonPlace): void {
  if (typeof value !== 'object' || value === null) return checkScalar(value, () => at.path || 'value');
  const stack: Frame[] = [frameOf(value as Record<string, unknown>)];
  while (stack.length > 0) {
    const f = stack[stack.length - 1];
    const length = f.keys === null ? (f.node as unknown[]).length : f.keys.length;
    if (f.next >= length) {
      stack.pop();
      continue;
    }
    const k = f.next++;
    let child: unknown;
    if (f.keys === null) child = (f.node as unknown[])[k];
    else {
      const key = f.keys[k];
      const problem = unstorableCharacter(key);
      if (problem !== null) {
        const shown = key.length > MAX_SHOWN_KEY ? `${key.slice(0, MAX_SHOWN_KEY)}…` : key;
        throw new ContractViolation(`${framePath(at, stack, stack.length - 1)} has a key that contains ${problem}: ${JSON.stringify(shown)}`);
      }
      child = (f.node as Record<string, unknown>)[key];
    }
    if (typeof child === 'object' && child !== null) stack.push(frameOf(child as Record<string, unknown>));
    else checkScalar(child, () => framePath(at, stack, stack.length));
  }
}

/** The path is built only when there is something to report. */
function checkScalar(v: unknown, pathOf: () => string): void {
  if (typeof v === 'string') {
    const problem = unstorableCharacter(v);
    if (problem !== null) throw violation(pathOf(), `must not contain ${problem}`, v);
  } else if (typeof v === 'number' && !Number.isFinite(v)) {
    throw violation(pathOf(), 'must be a finite number', v);
  }
}

export interface JsonErrorLocation {
  position: number;
  problem: string;
}

class Stop {
  constructor(
    readonly position: number,
    readonly problem: string,
  ) {}
}

const showChar = (c: string): string => (c === undefined ? 'end of input' : JSON.stringify(c));

/** Position (UTF-16 index) and nature of the first syntax error in `text`, or null if it is valid JSON. */
export function locateJsonError(text: string): JsonErrorLocation | null {
  let i = 0;
  const n = text.length;
  const ws = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
  };
  const unexpected = (): never => {
    if (i >= n) throw new Stop(i, 'unexpected end of input');
    throw new Stop(i, `unexpected ${showChar(text[i])}`);
  };
  const digits = (): number => {
    const start = i;
    while (i < n && text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39) i++;
    return i - start;
  };
  const literal = (word: string): void => {
    for (let k = 0; k < word.length; k++, i++) if (text[i] !== word[k]) unexpected();
  };
  const string = (): void => {
    i++; // opening quote
    for (;;) {
      if (i >= n) throw new Stop(i, 'unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) throw new Stop(i, 'control character in string');
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9A-Fa-f]{4}$/.test(text.slice(i + 2, i + 6))) throw new Stop(i, 'bad \\u escape in string');
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else throw new Stop(i, 'bad escape in string');
      } else i++;
    }
  };
  const number = (): void => {
    if (text[i] === '-') i++;
    if (text[i] === '0') i++;
    else if (digits() === 0) unexpected();
    if (text[i] === '.') {
      i++;
      if (digits() === 0) unexpected();
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      if (digits() === 0) unexpected();
    }
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') {
          if (i >= n) unexpected();
          throw new Stop(i, `expected a property name, got ${showChar(text[i])}`);
        }
        string();
        ws();
        if (text[i] !== ':') {
          if (i >= n) unexpected();
          throw new Stop(i, `expected ":", got ${showChar(text[i])}`);
        }
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return;
        } else if (i >= n) unexpected();
        else throw new Stop(i, `expected "," or "}", got ${showChar(text[i])}`);
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return;
        } else if (i >= n) unexpected();
        else throw new Stop(i, `expected "," or "]", got ${showChar(text[i])}`);
      }
    }
    if (c === '"') return string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return number();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    unexpected();
  };
  try {
    value();
    ws();
    if (i < n) throw new Stop(i, `unexpected ${showChar(text[i])} after the JSON value`);
    return null;
  } catch (err) {
    if (err instanceof Stop) return { position: err.position, problem: err.problem };
    return null; // e.g. nesting too deep for the stack: let the caller fall back to V8's message
  }
}
