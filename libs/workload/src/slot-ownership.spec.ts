import { ownerPid, SlotSample, slotGaps } from './slot-ownership';

/** Samples from a compact picture: one string per sample, one character per slot ('o' owned, '.' not). */
const samples = (period: number, ...rows: string[]): SlotSample[] =>
  rows.map((row, i) => ({ at: i * period, owned: new Map([...row].map((c, slot) => [slot, c === 'o'])) }));

describe('slotGaps', () => {
  it('ignores the start-up until every slot is owned, then measures each unowned interval between samples', () => {
    const gaps = slotGaps(samples(250, '..', 'o.', 'oo', '.o', '..', 'o.', 'oo'));
    expect(gaps.allOwnedAt).toBe(500);
    expect(gaps.intervals).toEqual([
      { slot: 0, from: 750, to: 1250, open: false },
      { slot: 1, from: 1000, to: 1500, open: false },
    ]);
    expect(gaps.maxGapMs).toBe(500);
    expect(gaps.samplingPeriodMs).toBe(250);
  });

  it('reports a slot still unowned at the last sample as an open interval up to that sample', () => {
    const gaps = slotGaps(samples(300, 'oo', 'o.', 'o.', 'o.'));
    expect(gaps.intervals).toEqual([{ slot: 1, from: 300, to: 900, open: true }]);
    expect(gaps.maxGapMs).toBe(600);
  });

  it('measures nothing when the slots were never all owned at once', () => {
    const gaps = slotGaps(samples(250, 'o.', '.o', 'o.'));
    expect(gaps.allOwnedAt).toBeUndefined();
    expect(gaps.intervals).toEqual([]);
  });

  it('takes the longest interval between samples as the sampling period (a sampler delayed by load)', () => {
    const s = samples(250, 'oo', 'oo', 'oo');
    s[2] = { ...s[2], at: 1400 };
    expect(slotGaps(s).samplingPeriodMs).toBe(1150);
  });

  it('counts a slot that appears later from its first sample', () => {
    const gaps = slotGaps([
      { at: 0, owned: new Map([[0, true]]) },
      {
        at: 250,
        owned: new Map([
          [0, true],
          [1, false],
        ]),
      },
      {
        at: 500,
        owned: new Map([
          [0, true],
          [1, true],
        ]),
      },
    ]);
    expect(gaps.intervals).toEqual([{ slot: 1, from: 250, to: 500, open: false }]);
  });
});

describe('ownerPid', () => {
  it('finds the pid of hostname-pid-random among the given pids, whatever dashes the host name holds', () => {
    expect(ownerPid('worker-7-4321-a1b2c3', [99, 4321])).toBe(4321);
    expect(ownerPid('host-4321-77', [77, 4321])).toBe(4321);
  });

  it('falls back to any part that is one of the pids', () => {
    expect(ownerPid('replica-555', [555])).toBe(555);
  });

  it('answers undefined for an owner that is none of the pids', () => {
    expect(ownerPid('host-4321-abc', [1234])).toBeUndefined();
  });
});
