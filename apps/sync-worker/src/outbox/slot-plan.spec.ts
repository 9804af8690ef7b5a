import { fairShare, partitionsOfSlots, rebalance, slotOfPartition } from './slot-plan';

describe('relay slot plan', () => {
  it('maps a partition to its slot, and a slot back to every partition it publishes', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((p) => slotOfPartition(p, 3))).toEqual([0, 1, 2, 0, 1, 2, 0, 1]);
    expect(partitionsOfSlots([1], 3, 8)).toEqual([1, 4, 7]);
    expect(partitionsOfSlots([0, 2], 3, 8)).toEqual([0, 2, 3, 5, 6]);
    expect(partitionsOfSlots([], 3, 8)).toEqual([]);
    expect(() => slotOfPartition(1, 0)).toThrow(RangeError);
    expect(() => slotOfPartition(-1, 4)).toThrow(RangeError);
  });

  it('gives every partition to exactly one slot', () => {
    for (const slots of [1, 2, 3, 6, 7, 12]) {
      const all = Array.from({ length: slots }, (_, s) => partitionsOfSlots([s], slots, 12))
        .flat()
        .sort((a, b) => a - b);
      expect(all).toEqual(Array.from({ length: 12 }, (_, p) => p));
    }
  });

  it('shares slots so that the live replicas cover all of them', () => {
    expect(fairShare(6, 1)).toBe(6);
    expect(fairShare(6, 2)).toBe(3);
    expect(fairShare(6, 4)).toBe(2);
    expect(fairShare(6, 7)).toBe(1);
    expect(fairShare(6, 0)).toBe(6);
    for (let slots = 1; slots <= 16; slots++) {
      for (let replicas = 1; replicas <= 8; replicas++) expect(fairShare(slots, replicas) * replicas).toBeGreaterThanOrEqual(slots);
    }
  });

  it('releases the highest slots over the share, or asks for the missing ones', () => {
    expect(rebalance([4, 0, 2, 5], 2)).toEqual({ release: [4, 5], take: 0 });
    expect(rebalance([1], 3)).toEqual({ release: [], take: 2 });
    expect(rebalance([1, 2], 2)).toEqual({ release: [], take: 0 });
  });
});
