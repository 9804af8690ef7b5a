import { canonicalTime, ceilToMillisIso, compareInstants, isCanonicalTime, parseInstant, toMillisIso } from './time';

describe('time', () => {
  it.each([
    ['2026-11-20T10:15:30Z', '2026-11-20T10:15:30.000000Z'],
    ['2026-11-20T10:15:30.1Z', '2026-11-20T10:15:30.100000Z'],
    ['2026-11-20T10:15:30.123456789Z', '2026-11-20T10:15:30.123456Z'],
    ['2026-11-20t10:15:30.5z', '2026-11-20T10:15:30.500000Z'],
    ['2026-11-20 10:15:30Z', '2026-11-20T10:15:30.000000Z'],
    ['2026-11-20T12:15:30.25+02:00', '2026-11-20T10:15:30.250000Z'],
    ['2026-11-20T00:15:30-05:30', '2026-11-20T05:45:30.000000Z'],
    ['2026-01-01T00:30:00+01:00', '2025-12-31T23:30:00.000000Z'],
    ['2026-11-20T10:15:30-00:00', '2026-11-20T10:15:30.000000Z'],
    ['2016-12-31T23:59:60Z', '2016-12-31T23:59:59.999999Z'],
    ['0050-06-01T00:00:00Z', '0050-06-01T00:00:00.000000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000000Z'],
  ])('canonicalises %s', (input, expected) => {
    expect(canonicalTime(input)).toBe(expected);
    expect(isCanonicalTime(expected)).toBe(true);
  });

  it.each([
    '2026-11-20T10:15:30', // no offset
    '2026-11-20',
    '2026-13-01T00:00:00Z',
    '2025-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '2026-11-20T24:00:00Z',
    '2026-11-20T10:60:00Z',
    '2026-11-20T10:15:30+24:00',
    '0000-01-01T00:00:00+01:00', // before year 0000 in UTC
    'yesterday',
  ])('rejects %s', (input) => {
    expect(parseInstant(input)).toBeNull();
    expect(() => canonicalTime(input)).toThrow(RangeError);
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
});
