import { REATTEMPT_BASE_MS, REATTEMPT_MAX_MS, reattemptDelayMs } from './recompute-dispatcher';

describe('the wait before a recompute request is tried again', () => {
  it('starts short, doubles with each attempt, and levels off without ever giving up', () => {
    expect([1, 2, 3, 4].map(reattemptDelayMs)).toEqual([REATTEMPT_BASE_MS, 2 * REATTEMPT_BASE_MS, 4 * REATTEMPT_BASE_MS, 8 * REATTEMPT_BASE_MS]);
    expect(reattemptDelayMs(50)).toBe(REATTEMPT_MAX_MS);
    expect(reattemptDelayMs(10_000)).toBe(REATTEMPT_MAX_MS);
  });
});
