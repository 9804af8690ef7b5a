import { microsToMillis, parseRfc3339, toCanonicalMicros, toCanonicalMillis } from './time';

// The parser itself (offsets, leap seconds, calendar, ranges, properties) is tested with the
// domain lib's `parseTimestamp` (libs/domain/src/time.spec.ts); this covers the contract's syntax
// and canonical forms on top of it.
describe('time canonicalisation at the contract edge', () => {
  it.each([
    ['2026-11-20T10:15:30Z', '2026-11-20T10:15:30.000000Z'],
    ['2026-11-20T12:15:30.123456789+02:00', '2026-11-20T10:15:30.123456Z'],
    ['2026-11-20t10:15:30.5z', '2026-11-20T10:15:30.500000Z'],
    ['2016-12-31T23:59:60Z', '2016-12-31T23:59:59.999999Z'],
  ])('micros: %s → %s', (raw, canonical) => {
    expect(toCanonicalMicros(raw)).toBe(canonical);
  });

  it.each([
    ['2026-12-31T23:59:59Z', '2026-12-31T23:59:59.000Z'],
    ['2027-01-01T00:59:59.9999+01:00', '2026-12-31T23:59:59.999Z'],
    ['2026-12-31T23:59:59.12Z', '2026-12-31T23:59:59.120Z'],
  ])('millis: %s → %s', (raw, canonical) => {
    expect(toCanonicalMillis(raw)).toBe(canonical);
  });

  it('converts a micros time to the published millis form by truncation', () => {
    expect(microsToMillis('2026-11-20T10:15:30.123999Z')).toBe('2026-11-20T10:15:30.123Z');
  });

  it.each([
    // stricter than the domain lib, which accepts both
    ['2026-11-20 10:15:30Z', 'must be an RFC 3339 timestamp with a zone offset (e.g. "2026-11-20T10:15:30.123Z")'],
    ['2026-11-20T10:15:30.1234567890Z', 'must have at most 9 fractional second digits'],
    // the domain parser's problems pass through unchanged
    ['2026-11-20T10:15:30', 'must be an RFC 3339 timestamp with a zone offset (e.g. "2026-11-20T10:15:30.123Z")'],
    ['2026-04-31T10:15:30Z', 'has a day out of range'],
  ])('rejects %s: %s', (raw, problem) => {
    expect(parseRfc3339(raw)).toBe(problem);
    expect(toCanonicalMicros(raw)).toBeNull();
    expect(toCanonicalMillis(raw)).toBeNull();
  });

  // The range the stores hold (Postgres timestamptz and RFC 3339 both): the contract's rule.
  it.each([
    ['0000-06-01T00:00:00Z', 'has year 0000: years run from 0001 to 9999'],
    ['0000-12-31T23:00:00-14:00', 'has year 0000: years run from 0001 to 9999'],
    ['2026-11-20T10:15:30+16:00', 'has a zone offset beyond ±14:00'],
    ['2026-11-20T10:15:30-23:59', 'has a zone offset beyond ±14:00'],
    ['2026-11-20T10:15:30+14:01', 'has a zone offset beyond ±14:00'],
    ['0001-01-01T00:00:00+00:01', 'is out of range: 0001-01-01 to 9999-12-31 in UTC'],
    ['9999-12-31T23:59:59-00:01', 'is out of range: 0001-01-01 to 9999-12-31 in UTC'],
  ])('rejects %s out of the range the stores hold: %s', (raw, problem) => {
    expect(parseRfc3339(raw)).toBe(problem);
    expect(toCanonicalMicros(raw)).toBeNull();
  });

  it.each([
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000000Z'],
    ['0001-01-01T14:00:00+14:00', '0001-01-01T00:00:00.000000Z'],
    ['9999-12-31T09:59:59.999999-14:00', '9999-12-31T23:59:59.999999Z'],
    ['2026-11-20T10:15:30-00:00', '2026-11-20T10:15:30.000000Z'],
  ])('accepts %s at the edge of the range', (raw, canonical) => {
    expect(toCanonicalMicros(raw)).toBe(canonical);
  });
});
