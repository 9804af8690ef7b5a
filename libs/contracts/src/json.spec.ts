import fc from 'fast-check';
import { locateJsonError, parseJsonValue } from './json';
import { ContractViolation } from './violation';

describe('JSON decoding', () => {
  it('parses valid UTF-8 JSON', () => {
    expect(parseJsonValue(Buffer.from('{"a":[1,"é",null]}'))).toEqual({ a: [1, 'é', null] });
  });

  it.each([
    ['{"a":}', 5, 'unexpected "}"'],
    ['{"a":1', 6, 'unexpected end of input'],
    ['{"a" 1}', 5, 'expected ":", got "1"'],
    ['{"a":1 "b":2}', 7, 'expected "," or "}", got "\\""'],
    ['[1 2]', 3, 'expected "," or "]", got "2"'],
    ['[1,]', 3, 'unexpected "]"'],
    ['{"a":01}', 6, 'expected "," or "}", got "1"'],
    ['{"a":1.}', 7, 'unexpected "}"'],
    ['{"a":-}', 6, 'unexpected "}"'],
    ['{"a":1e}', 7, 'unexpected "}"'],
    ['{"a":tru}', 8, 'unexpected "}"'],
    ['{"a":"x\\q"}', 7, 'bad escape in string'],
    ['{"a":"\\u12g4"}', 6, 'bad \\u escape in string'],
    ['{"a":"line\nbreak"}', 10, 'control character in string'],
    ['{"a":"open', 10, 'unterminated string'],
    ['{,}', 1, 'expected a property name, got ","'],
    ['{"a":1}}', 7, 'unexpected "}" after the JSON value'],
  ])('locates the error in %p at %i', (text, position, problem) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(locateJsonError(text)).toEqual({ position, problem });
  });

  it('finds no error in any valid JSON text (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(0, 2), (value, indent) => {
        expect(locateJsonError(JSON.stringify(value, null, indent))).toBeNull();
      }),
      { numRuns: 500 },
    );
  });

  it('finds an error wherever JSON.parse fails on a truncated or corrupted text (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(), fc.string({ minLength: 1, maxLength: 1 }), (value, at, junk) => {
        const text = JSON.stringify(value);
        const cut = at % (text.length + 1);
        for (const candidate of [text.slice(0, cut), text.slice(0, cut) + junk + text.slice(cut)]) {
          let valid = true;
          try {
            JSON.parse(candidate);
          } catch {
            valid = false;
          }
          const where = locateJsonError(candidate);
          expect(where === null).toBe(valid);
          if (where !== null) expect(where.position).toBeLessThanOrEqual(candidate.length);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('reports invalid UTF-8 as such', () => {
    expect(() => parseJsonValue(Buffer.from([0x22, 0xc3, 0x22]))).toThrow(new ContractViolation('value is not valid UTF-8'));
  });
});
