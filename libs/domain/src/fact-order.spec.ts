import fc from 'fast-check';
import { compareUtf8, dedupeFacts, earliest, factKey, factOrder, latest, latestBy, sortFacts } from './fact-order';
import type { FactMeta } from './facts';

const m = (time: string, source: string, id: string): { meta: FactMeta } => ({ meta: { time, source, id, type: 'x' } });
const T1 = '2026-01-01T00:00:00.000000Z';
const T2 = '2026-01-01T00:00:00.000001Z';

describe('compareUtf8', () => {
  it('orders by UTF-8 bytes where UTF-16 code units disagree', () => {
    // U+FF61 (EF BD A1) < U+1F600 (F0 9F 98 80) in UTF-8, but '\uFF61' > '\uD83D' as UTF-16.
    expect('\uFF61' > '\u{1F600}').toBe(true);
    expect(compareUtf8('\uFF61', '\u{1F600}')).toBe(-1);
    expect(compareUtf8('\u{1F600}', '\uFF61')).toBe(1);
    expect(compareUtf8('a', 'ab')).toBe(-1);
    expect(compareUtf8('B', 'a')).toBe(-1); // bytes, not locale
    expect(compareUtf8('same', 'same')).toBe(0);
  });

  it('equals Buffer.compare on any well-formed strings', () => {
    const codePoint = fc.oneof(fc.integer({ min: 0, max: 0xd7ff }), fc.integer({ min: 0xe000, max: 0x10ffff }), fc.integer({ min: 0xe000, max: 0xffff }));
    const str = fc.array(codePoint, { maxLength: 6 }).map((cps) => String.fromCodePoint(...cps));
    const near = fc.constantFrom('', 'a', '\uE000', '\uFFFF', '\u{10000}', '\u{1F600}', '\u00E9');
    const s = fc.oneof(
      str,
      fc.tuple(near, str).map(([x, y]) => x + y),
    );
    fc.assert(
      fc.property(s, s, (a, b) => compareUtf8(a, b) === Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))),
      { numRuns: 300 },
    );
  });
});

describe('factOrder', () => {
  it('orders by time, then source, then id', () => {
    expect(factOrder(m(T1, 'z', 'z').meta, m(T2, 'a', 'a').meta)).toBeLessThan(0);
    expect(factOrder(m(T1, 'a', 'z').meta, m(T1, 'b', 'a').meta)).toBeLessThan(0);
    expect(factOrder(m(T1, 'a', 'evt-10').meta, m(T1, 'a', 'evt-9').meta)).toBeLessThan(0); // bytes, not numbers
    expect(factOrder(m(T1, '\uFF61', 'x').meta, m(T1, '\u{1F600}', 'x').meta)).toBeLessThan(0);
    expect(factOrder(m(T1, 'a', 'x').meta, m(T1, 'a', 'x').meta)).toBe(0);
  });

  it('latest/earliest/latestBy/sortFacts agree with the order and ignore duplicates', () => {
    const a = m(T1, 'b', '1');
    const b = m(T2, 'a', '1');
    const c = m(T1, 'a', '2');
    const dupB = structuredClone(b);
    expect(latest([a, b, c, dupB])).toBe(b);
    expect(earliest([b, a, c])).toBe(c);
    expect(latest([])).toBeUndefined();
    expect(sortFacts([b, a, dupB, c]).map((f) => f.meta.id)).toEqual(['2', '1', '1']);
    expect(sortFacts([b, a, dupB, c])).toEqual([c, a, b]);
    expect(dedupeFacts([b, dupB, a])).toEqual([b, a]);
    const byId = latestBy([a, b, c], (f) => f.meta.id);
    expect(byId.get('1')).toBe(b);
    expect(byId.get('2')).toBe(c);
  });

  it('factKey does not confuse source/id boundaries', () => {
    expect(factKey(m(T1, 'a:b', 'c').meta)).not.toBe(factKey(m(T1, 'a', 'b:c').meta));
  });
});
