import type { Gauge } from 'prom-client';

interface PartitionState {
  topic: string;
  partition: number;
  /** Next offset to apply: everything before it is applied or dead-lettered. */
  processed?: bigint;
  high?: bigint;
  /** When `processed` last moved, or the partition was last seen caught up (or assigned). */
  movedAt: number;
}

/**
 * Where the consumer stands on each partition it owns, so that being stuck is visible: the lag
 * gauge (`enrollment_sync_consumer_lag`) and the readiness reasons. Fed by the consumer (group
 * joins, batches, commits) and by a periodic look at the broker's offsets, so a partition stuck
 * on one slice still shows its lag growing as messages arrive behind it.
 */
export class ConsumerProgress {
  private readonly partitions = new Map<string, PartitionState>();
  private joinedGroup = false;

  constructor(
    private readonly lagGauge: Pick<Gauge<'topic' | 'partition'>, 'set' | 'remove'>,
    private readonly now: () => number = Date.now,
  ) {}

  get joined(): boolean {
    return this.joinedGroup;
  }

  /** The partitions this member owns, by topic. */
  owned(): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const s of this.partitions.values()) out.set(s.topic, [...(out.get(s.topic) ?? []), s.partition]);
    return out;
  }

  /** The group assigned these partitions to this member: forget the others. */
  assigned(assignment: Record<string, number[]>): void {
    this.joinedGroup = true;
    const keep = new Set<string>();
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) {
        const key = `${topic}/${partition}`;
        keep.add(key);
        if (!this.partitions.has(key)) this.partitions.set(key, { topic, partition, movedAt: this.now() });
      }
    }
    for (const [key, s] of this.partitions) if (!keep.has(key)) this.forget(key, s);
  }

  /** Out of the group (rebalancing, crashed, stopped): nothing owned until the next join. */
  left(): void {
    this.joinedGroup = false;
    for (const [key, s] of this.partitions) this.forget(key, s);
  }

  /** A batch arrived starting at `firstOffset`, with the partition's high watermark as of the fetch. */
  fetched(topic: string, partition: number, firstOffset: bigint, high: bigint): void {
    const s = this.state(topic, partition);
    if (s.processed === undefined) s.processed = firstOffset;
    this.observeHigh(s, high);
  }

  /** Everything before `next` is applied or dead-lettered, and committed. */
  committed(topic: string, partition: number, next: bigint): void {
    const s = this.state(topic, partition);
    if (s.processed === undefined || next > s.processed) {
      s.processed = next;
      s.movedAt = this.now();
    }
    this.publish(s);
  }

  /** What the broker says: the high watermark, and the group's committed offset (-1: none, `low` applies). */
  observed(topic: string, partition: number, high: bigint, committed: bigint, low: bigint): void {
    const s = this.partitions.get(`${topic}/${partition}`);
    if (!s) return; // not ours (any more)
    const floor = committed >= 0n ? committed : low;
    if (s.processed === undefined || floor > s.processed) {
      s.processed = floor;
      s.movedAt = this.now();
    }
    this.observeHigh(s, high);
  }

  /** One line per partition with lag that has not moved for `stallAfterMs`. */
  stalled(stallAfterMs: number): string[] {
    const now = this.now();
    const out: string[] = [];
    for (const s of this.partitions.values()) {
      const lag = this.lagOf(s);
      if (lag > 0n && now - s.movedAt >= stallAfterMs) {
        out.push(`partition ${s.topic}/${s.partition} has ${lag} message(s) of lag and has not moved for ${Math.round((now - s.movedAt) / 1000)} s`);
      }
    }
    return out;
  }

  private observeHigh(s: PartitionState, high: bigint): void {
    if (s.high === undefined || high > s.high) s.high = high;
    // Caught up counts as moving: a partition idle at lag 0 is not stuck when messages arrive.
    if (this.lagOf(s) === 0n) s.movedAt = this.now();
    this.publish(s);
  }

  private lagOf(s: PartitionState): bigint {
    if (s.high === undefined || s.processed === undefined) return 0n;
    return s.high > s.processed ? s.high - s.processed : 0n;
  }

  private publish(s: PartitionState): void {
    if (s.high === undefined || s.processed === undefined) return;
    this.lagGauge.set({ topic: s.topic, partition: String(s.partition) }, Number(this.lagOf(s)));
  }

  private state(topic: string, partition: number): PartitionState {
    const key = `${topic}/${partition}`;
    let s = this.partitions.get(key);
    if (!s) {
      // A batch of a partition the join event has not told about yet (the event comes after the fetch starts).
      s = { topic, partition, movedAt: this.now() };
      this.partitions.set(key, s);
    }
    return s;
  }

  private forget(key: string, s: PartitionState): void {
    this.partitions.delete(key);
    this.lagGauge.remove({ topic: s.topic, partition: String(s.partition) });
  }
}
