import { isUtf8 } from 'node:buffer';
import { ContractViolation } from './violation';

/**
 * Decodes a Kafka message value as UTF-8 JSON. The fast path is `JSON.parse`; only when it
 * fails does a small scanner walk the text again to say where and why, because V8's own
 * messages do not always carry a position.
 */
export function parseJsonValue(value: Buffer, what = 'value'): unknown {
  if (!isUtf8(value)) throw new ContractViolation(`${what} is not valid UTF-8`);
  let text = value.toString('utf8');
  // RFC 8259 lets a parser ignore a byte order mark; tolerate one rather than dead-letter.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return JSON.parse(text);
  } catch (err) {
    const where = locateJsonError(text);
    if (where === null) throw new ContractViolation(`${what} is not valid JSON: ${(err as Error).message}`);
    throw new ContractViolation(`${what} is not valid JSON at position ${where.position}: ${where.problem}`);
  }
}

export interface JsonErrorLocation {
  position: number;
  problem: string;
}

class Stop {
  constructor(readonly position: number, readonly problem: string) {}
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
