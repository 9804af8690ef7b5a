/**
 * How long the relay's slots went without an owner, from samples of `outbox_relay_slots` taken
 * while the pipeline runs. Pure: the caller samples the table; this turns the samples into
 * unowned intervals per slot.
 *
 * A sample sees each slot owned or not at one instant, so an interval measured between samples
 * is off from the true one by less than the interval between two samples: the caller compares
 * the longest one with the lease plus that sampling period.
 */

/** One look at the slot table: the time it was taken and, per slot, whether it was owned then. */
export interface SlotSample {
  /** Milliseconds on a clock common to every sample (the database's `now()` of the sample). */
  at: number;
  owned: ReadonlyMap<number, boolean>;
}

export interface UnownedInterval {
  slot: number;
  /** The first sample that saw the slot unowned. */
  from: number;
  /** The first sample that saw it owned again, or the last sample when it never was (open). */
  to: number;
  open: boolean;
}

export interface SlotGaps {
  /** When every slot was first owned at once (undefined: never, so nothing was measured). */
  allOwnedAt?: number;
  intervals: UnownedInterval[];
  /** The longest interval (0 when none). */
  maxGapMs: number;
  /** The longest time between two consecutive samples: how coarse the measurement was. */
  samplingPeriodMs: number;
}

/**
 * Unowned intervals per slot, counted from the first sample where every slot was owned (before
 * that the replicas are still taking their slots, which is start-up, not a hand-over). A slot
 * that first shows up later counts from its first sample.
 */
export function slotGaps(samples: readonly SlotSample[]): SlotGaps {
  let samplingPeriodMs = 0;
  for (let i = 1; i < samples.length; i++) samplingPeriodMs = Math.max(samplingPeriodMs, samples[i].at - samples[i - 1].at);
  const first = samples.findIndex((s) => s.owned.size > 0 && [...s.owned.values()].every(Boolean));
  if (first < 0) return { intervals: [], maxGapMs: 0, samplingPeriodMs };
  const intervals: UnownedInterval[] = [];
  const unownedSince = new Map<number, number>();
  for (const s of samples.slice(first)) {
    for (const [slot, owned] of s.owned) {
      const since = unownedSince.get(slot);
      if (!owned && since === undefined) unownedSince.set(slot, s.at);
      if (owned && since !== undefined) {
        intervals.push({ slot, from: since, to: s.at, open: false });
        unownedSince.delete(slot);
      }
    }
  }
  const last = samples[samples.length - 1].at;
  for (const [slot, since] of unownedSince) intervals.push({ slot, from: since, to: last, open: true });
  intervals.sort((a, b) => a.from - b.from || a.slot - b.slot);
  return {
    allOwnedAt: samples[first].at,
    intervals,
    maxGapMs: intervals.reduce((m, i) => Math.max(m, i.to - i.from), 0),
    samplingPeriodMs,
  };
}

/**
 * The pid in a relay replica id (`hostname-pid-random`), among `pids` (the processes the caller
 * started). A host name may hold dashes and digits of its own, so every dash-separated part is
 * tried, the one before the last first.
 */
export function ownerPid(owner: string, pids: readonly number[]): number | undefined {
  const parts = owner.split('-');
  const candidates = [parts[parts.length - 2], ...parts].filter((p): p is string => p !== undefined && /^\d+$/.test(p));
  return candidates.map(Number).find((p) => pids.includes(p));
}
