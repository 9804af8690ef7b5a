/**
 * How relay work is split between replicas: pure arithmetic over slot numbers, so it is tested
 * without a database.
 */

/** The slot that publishes an output partition's events. */
export function slotOfPartition(partition: number, slotCount: number): number {
  if (!Number.isSafeInteger(slotCount) || slotCount < 1) throw new RangeError(`slot count must be a positive integer, got ${slotCount}`);
  if (!Number.isSafeInteger(partition) || partition < 0) throw new RangeError(`partition must be a non-negative integer, got ${partition}`);
  return partition % slotCount;
}

/** The output partitions (of `partitionCount`) whose events `slots` publish. */
export function partitionsOfSlots(slots: Iterable<number>, slotCount: number, partitionCount: number): number[] {
  const owned = new Set(slots);
  const out: number[] = [];
  for (let p = 0; p < partitionCount; p++) if (owned.has(slotOfPartition(p, slotCount))) out.push(p);
  return out;
}

/**
 * Slots one replica may hold: ceil(slots ÷ live replicas). Rounding up lets the replicas cover
 * every slot between them; a replica that is not counted live yet (0) is treated as the only one.
 */
export function fairShare(slotCount: number, liveReplicas: number): number {
  return Math.ceil(slotCount / Math.max(1, liveReplicas));
}

/**
 * What a replica holding `owned` does this round: release the surplus over its fair share
 * (the highest slots, so hand-overs move few slots), or ask for up to `take` more free ones.
 */
export function rebalance(owned: readonly number[], share: number): { release: number[]; take: number } {
  const sorted = [...owned].sort((a, b) => a - b);
  if (sorted.length > share) return { release: sorted.slice(share), take: 0 };
  return { release: [], take: share - sorted.length };
}
