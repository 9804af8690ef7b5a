import fc from 'fast-check';
import { canonicalTime, ceilToMillisIso, compareInstants, isCanonicalTime, parseInstant, parseTimestamp, toMillisIso } from './time';

const SHAPE = 'must be an RFC 3339 timestamp with a zone offset (e.g. "2026-11-20T10:15:30.123Z")';

describe('time', () => {
  it.each([
    ['2026-11-20T10:15:30Z', '2026-11-20T10:15:30.000000Z'],
    ['2026-11-20T10:15:30.123456Z', '2026-11-20T10:15:30.123456Z'],
    ['2026-11-20T10:15:30.1Z', '2026-11-20T10:15:30.100000Z'],
    ['2026-11-20T10:15:30.123456789Z', '2026-11-20T10:15:30.123456Z'],
    ['2026-11-20T10:15:30.999999999Z', '2026-11-20T10:15:30.999999Z'],
    ['2026-11-20T10:15:30.1234567890123Z', '2026-11-20T10:15:30.123456Z'], // any length, truncated
    ['2026-11-20t10:15:30.5z', '2026-11-20T10:15:30.500000Z'],
    ['2026-11-20 10:15:30Z', '2026-11-20T10:15:30.000000Z'],
    ['2026-11-20T12:15:30.25+02:00', '2026-11-20T10:15:30.250000Z'],
    ['2026-11-20T12:15:30.123456789+02:00', '2026-11-20T10:15:30.123456Z'],
    ['2026-11-20T00:15:30-05:30', '2026-11-20T05:45:30.000000Z'],
    ['2026-11-20T04:45:30.000001-05:30', '2026-11-20T10:15:30.000001Z'],
    ['2026-11-20T16:00:30+05:45', '2026-11-20T10:15:30.000000Z'],
    ['2026-01-01T00:30:00+01:00', '2025-12-31T23:30:00.000000Z'],
    ['2026-01-01T01:00:00.5+02:00', '2025-12-31T23:00:00.500000Z'],
    ['2025-12-31T23:30:00-01:00', '2026-01-01T00:30:00.000000Z'],
    ['2024-02-29T23:30:00-01:00', '2024-03-01T00:30:00.000000Z'],
    ['2024-03-01T00:30:00+01:00', '2024-02-29T23:30:00.000000Z'],
    ['2026-11-20T10:15:30-00:00', '2026-11-20T10:15:30.000000Z'],
    ['1999-12-31T23:59:59.123-00:00', '1999-12-31T23:59:59.123000Z'],
    ['1969-12-31T23:59:59.999999Z', '1969-12-31T23:59:59.999999Z'],
    ['2016-12-31T23:59:60Z', '2016-12-31T23:59:59.999999Z'],
    ['2017-01-01T00:59:60.5+01:00', '2016-12-31T23:59:59.999999Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000000Z'],
    ['0050-06-01T00:00:00Z', '0050-06-01T00:00:00.000000Z'],
    ['9999-12-31T23:59:59.999999999Z', '9999-12-31T23:59:59.999999Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000000Z'],
    ['2000-02-29T00:00:00Z', '2000-02-29T00:00:00.000000Z'], // a leap year divisible by 400
  ])('canonicalises %s', (input, expected) => {
    expect(canonicalTime(input)).toBe(expected);
    expect(parseInstant(input)).toBe(expected);
    expect(isCanonicalTime(expected)).toBe(true);
  });

  it.each([
    ['2026-11-20T10:15:30', SHAPE], // no offset
    ['2026-11-20', SHAPE],
    ['yesterday', SHAPE],
    ['2026-11-20T10:15:30.Z', SHAPE],
    ['2026-11-20T10:15Z', SHAPE],
    ['2026-11-20T10:15:30+02', SHAPE],
    ['+2026-11-20T10:15:30Z', SHAPE],
    [' 2026-11-20T10:15:30Z', SHAPE],
    ['2026-13-01T00:00:00Z', 'has a month out of range'],
    ['2026-13-20T10:15:30Z', 'has a month out of range'],
    ['2026-00-20T10:15:30Z', 'has a month out of range'],
    ['2026-04-31T00:00:00Z', 'has a day out of range'],
    ['2025-02-29T00:00:00Z', 'has a day out of range'],
    ['1900-02-29T10:15:30Z', 'has a day out of range'],
    ['2026-11-20T24:00:00Z', 'has an hour out of range'],
    ['2026-11-20T10:60:00Z', 'has a minute out of range'],
    ['2026-11-20T10:15:61Z', 'has a second out of range'],
    ['2026-11-20T10:15:30+24:00', 'has a zone offset out of range'],
    ['2026-11-20T10:15:30+02:60', 'has a zone offset out of range'],
    ['0000-01-01T00:00:00+01:00', 'is out of range (years 0000 to 9999 in UTC)'],
    ['9999-12-31T23:59:59-00:01', 'is out of range (years 0000 to 9999 in UTC)'],
  ])('rejects %s: %s', (input, problem) => {
    expect(parseTimestamp(input)).toBe(problem);
    expect(parseInstant(input)).toBeNull();
    expect(() => canonicalTime(input)).toThrow(RangeError);
  });

  it('restricts the syntax on request (the contract edge: no space separator, at most 9 fractional digits)', () => {
    const strict = { spaceSeparator: false, maxFractionDigits: 9 };
    expect(parseTimestamp('2026-11-20 10:15:30Z', strict)).toBe(SHAPE);
    expect(parseTimestamp('2026-11-20T10:15:30.1234567890Z', strict)).toBe('must have at most 9 fractional second digits');
    expect(parseTimestamp('2026-11-20T10:15:30.123456789Z', strict)).toEqual({ epochSeconds: 1_795_169_730, nanos: '123456789' });
  });

  it('renders milliseconds by truncating microseconds', () => {
    expect(toMillisIso('2026-11-20T10:15:30.123999Z')).toBe('2026-11-20T10:15:30.123Z');
    expect(toMillisIso('2026-11-20T12:15:30.9+02:00')).toBe('2026-11-20T10:15:30.900Z');
  });

  it('rounds deadlines up to the millisecond', () => {
    expect(ceilToMillisIso('2026-11-20T10:15:30.123000Z')).toBe('2026-11-20T10:15:30.123Z');
    expect(ceilToMillisIso('2026-11-20T10:15:30.123001Z')).toBe('2026-11-20T10:15:30.124Z');
    expect(ceilToMillisIso('2026-12-31T23:59:59.999500Z')).toBe('2027-01-01T00:00:00.000Z');
  });

  it('compares instants across offsets and precisions', () => {
    expect(compareInstants('2026-11-20T12:00:00+02:00', '2026-11-20T10:00:00Z')).toBe(0);
    expect(compareInstants('2026-11-20T10:00:00.000001Z', '2026-11-20T10:00:00Z')).toBe(1);
    expect(compareInstants('2026-11-20T11:59:59+02:00', '2026-11-20T10:00:00.000Z')).toBe(-1);
  });

  const instant = fc.record({
    ms: fc.integer({ min: Date.UTC(1, 0, 2), max: Date.UTC(9999, 11, 30) }),
    extra: fc.integer({ min: 0, max: 999_999 }),
    offsetMinutes: fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
    digits: fc.integer({ min: 3, max: 9 }),
  });

  /** Writes an instant as RFC 3339 in the given offset, with 3 to 9 fractional digits. */
  function render({ ms, extra, offsetMinutes, digits }: { ms: number; extra: number; offsetMinutes: number; digits: number }): string {
    const local = new Date(ms + offsetMinutes * 60_000).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
    const fraction = (local.slice(20, 23) + String(extra).padStart(6, '0')).slice(0, digits);
    const sign = offsetMinutes < 0 ? '-' : '+';
    const abs = Math.abs(offsetMinutes);
    const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
    return `${local.slice(0, 19)}.${fraction}${offset}`;
  }

  it('agrees with Date to the millisecond and keeps the micro digits, whatever the offset (property)', () => {
    fc.assert(
      fc.property(instant, (i) => {
        const canonical = parseInstant(render(i));
        const micro =
          i.digits >= 6
            ? String(i.extra).padStart(6, '0').slice(0, 3)
            : String(i.extra)
                .padStart(6, '0')
                .slice(0, Math.max(0, i.digits - 3))
                .padEnd(3, '0');
        expect(canonical).toBe(`${new Date(i.ms).toISOString().slice(0, 23)}${micro}Z`);
      }),
      { numRuns: 2000 },
    );
  });

  it('string order of canonical times is time order (property)', () => {
    fc.assert(
      fc.property(instant, instant, (a, b) => {
        const ca = canonicalTime(render({ ...a, digits: 9 }));
        const cb = canonicalTime(render({ ...b, digits: 9 }));
        const ta = BigInt(a.ms) * 1000n + BigInt(Math.floor(a.extra / 1000));
        const tb = BigInt(b.ms) * 1000n + BigInt(Math.floor(b.extra / 1000));
        expect(ca < cb).toBe(ta < tb);
        expect(ca === cb).toBe(ta === tb);
      }),
      { numRuns: 2000 },
    );
  });
});
