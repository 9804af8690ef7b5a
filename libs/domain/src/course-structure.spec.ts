import { completionRate, progressPercent } from './course-structure';

describe('rounding with integers', () => {
  it.each([
    [1, 3, 33.33],
    [2, 3, 66.67],
    [1, 6, 16.67],
    [1, 7, 14.29],
    [1, 8, 12.5],
    [1, 32, 3.13], // 3.125 rounds half up
    [1, 800, 0.13], // 0.125 rounds half up
    [199, 200, 99.5],
    [5, 5, 100],
    [0, 5, 0],
    [0, 0, 0],
  ])('progressPercent(%i, %i) = %d', (c, n, expected) => {
    expect(progressPercent(c, n)).toBe(expected);
  });

  it('progressPercent shows at most 2 decimals and is within half a hundredth (n ≤ 200)', () => {
    const bad: string[] = [];
    for (let n = 1; n <= 200; n++) {
      for (let c = 0; c <= n; c++) {
        const p = progressPercent(c, n);
        if (!/^\d+(\.\d{1,2})?$/.test(String(p)) || Math.abs(p - (100 * c) / n) > 0.005 + 1e-9) bad.push(`${c}/${n} → ${p}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it.each([
    [1, 3, 33],
    [2, 3, 66],
    [199, 200, 99],
    [3, 3, 100],
    [0, 0, 0],
  ])('completionRate(%i, %i) = %i (floor)', (c, n, expected) => {
    expect(completionRate(c, n)).toBe(expected);
  });
});
