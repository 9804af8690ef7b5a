import { Consumer, Message, Producer } from 'kafkajs';
import type { AppConfig } from '@app/config';
import type { InputMessage } from '@app/workload';
import { RunResources, sleep } from './infra';

export interface OutMessage {
  topic: string;
  message: Message;
  /** CloudEvent id of the input (for latency matching). */
  id: string;
}

export function toKafka(config: AppConfig, msgs: Iterable<InputMessage>): OutMessage[] {
  const out: OutMessage[] = [];
  for (const m of msgs) {
    const id = /"id":"([^"]+)"/.exec(m.value)?.[1] ?? '';
    out.push({ topic: config.topics[m.topic], message: { key: m.key, value: m.value }, id });
  }
  return out;
}

/** The messages, each on this run's topic of the same kind (messages are built for a template config). */
export function rebind(msgs: OutMessage[], topics: Record<string, unknown>): OutMessage[] {
  const byBase = new Map<string, string>();
  for (const t of Object.values(topics)) if (typeof t === 'string') byBase.set(t.replace(/\.bench\..*$/, ''), t);
  return msgs.map((m) => ({ ...m, topic: byBase.get(m.topic.replace(/\.bench\..*$/, '')) ?? m.topic }));
}

/** Counts (and optionally timestamps by cause id) every event arriving on the output topic. */
export class OutputWatcher {
  count = 0;
  firstAt = 0;
  lastAt = 0;
  /** output partition → events that arrived on it (a relay slot is one or more partitions) */
  readonly perPartition = new Map<number, number>();
  /** cause id → first arrival time (ms, performance clock), when tracking causes. */
  readonly causeArrival = new Map<string, number>();
  private consumer: Consumer;

  constructor(
    private readonly res: RunResources,
    private readonly trackCauses: boolean,
  ) {
    this.consumer = res.kafka.consumer({
      groupId: `bench-out-${res.run.id}-${Math.random().toString(36).slice(2, 8)}`,
      maxWaitTimeInMs: 100,
      sessionTimeout: 30_000,
    });
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.res.run.config.topics.courseEnrollments, fromBeginning: true });
    const joined = new Promise<void>((resolve) => this.consumer.on(this.consumer.events.GROUP_JOIN, () => resolve()));
    await this.consumer.run({
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        const now = performance.now();
        if (this.count === 0) this.firstAt = now;
        this.count += batch.messages.length;
        this.lastAt = now;
        this.perPartition.set(batch.partition, (this.perPartition.get(batch.partition) ?? 0) + batch.messages.length);
        if (this.trackCauses) {
          for (const m of batch.messages) {
            if (!m.value) continue;
            const cause = (JSON.parse(m.value.toString()) as { data?: { cause?: { id?: string } } }).data?.cause?.id;
            if (cause && !this.causeArrival.has(cause)) this.causeArrival.set(cause, now);
          }
        }
      },
    });
    await joined;
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect().catch(() => undefined);
  }
}

function batches(msgs: OutMessage[], size: number): OutMessage[][] {
  const out: OutMessage[][] = [];
  for (let i = 0; i < msgs.length; i += size) out.push(msgs.slice(i, i + size));
  return out;
}

async function sendBatch(producer: Producer, batch: OutMessage[]): Promise<void> {
  const byTopic = new Map<string, Message[]>();
  for (const m of batch) {
    let list = byTopic.get(m.topic);
    if (!list) byTopic.set(m.topic, (list = []));
    list.push(m.message);
  }
  await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
}

/** Produces everything as fast as possible: batches of `size`, a few in flight. */
export async function produceAll(producer: Producer, msgs: OutMessage[], size = 1000, inFlight = 4): Promise<void> {
  const queue = batches(msgs, size);
  let next = 0;
  const lane = async () => {
    while (next < queue.length) await sendBatch(producer, queue[next++]);
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
}

/**
 * Produces at a fixed offered load: every 10 ms, the messages due by then. Returns each
 * message's produce time (performance clock, when its send was issued).
 */
export async function produceAtRate(producer: Producer, msgs: OutMessage[], perSecond: number): Promise<number[]> {
  const sentAt = new Array<number>(msgs.length);
  const start = performance.now();
  const pending: Promise<void>[] = [];
  let i = 0;
  while (i < msgs.length) {
    const due = Math.min(msgs.length, Math.floor(((performance.now() - start) / 1000) * perSecond) + 1);
    if (due > i) {
      const now = performance.now();
      const batch = msgs.slice(i, due);
      for (let k = i; k < due; k++) sentAt[k] = now;
      i = due;
      pending.push(sendBatch(producer, batch));
    }
    await sleep(10);
  }
  await Promise.all(pending);
  return sentAt;
}

export interface Sample {
  /** seconds since the first produce */
  t: number;
  consumed: number;
  outputs: number;
  /** rows in the outbox (written, not yet published and purged) */
  outbox?: number;
}

export interface DoneResult {
  samples: Sample[];
  /** ms from first produce to the last output arrival (quiet period excluded) */
  durationMs: number;
  outputs: number;
  timedOut: boolean;
}

/**
 * Waits until the worker's committed offsets reach the high watermarks, the outbox is empty,
 * (optionally) no recompute request is pending, and no output arrived for `quietMs`.
 * Samples progress once a second for the time series.
 */
export async function waitDone(
  res: RunResources,
  watcher: OutputWatcher,
  startedAt: number,
  opts: { quietMs?: number; stallMs?: number; waitRecomputes?: boolean; producing?: () => boolean } = {},
): Promise<DoneResult> {
  const quietMs = opts.quietMs ?? 2000;
  const stallMs = opts.stallMs ?? 90_000;
  const samples: Sample[] = [];
  let lastProgressAt = performance.now();
  let lastKey = '';
  for (;;) {
    await sleep(1000);
    const now = performance.now();
    const [consumed, high, outbox, recomputes] = await Promise.all([
      res.committed(),
      res.inputHighWatermark(),
      res.outboxSize(),
      opts.waitRecomputes ? res.pendingRecomputes() : Promise.resolve(0),
    ]);
    samples.push({ t: (now - startedAt) / 1000, consumed, outputs: watcher.count, outbox });
    const key = `${consumed}/${watcher.count}/${outbox}`;
    if (key !== lastKey) {
      lastKey = key;
      lastProgressAt = now;
    }
    const producing = opts.producing?.() ?? false;
    const quiet = watcher.count === 0 ? true : now - watcher.lastAt >= quietMs;
    if (!producing && high > 0 && consumed >= high && outbox === 0 && recomputes === 0 && quiet) {
      const end = watcher.count > 0 ? Math.max(watcher.lastAt, 0) : now;
      return { samples, durationMs: end - startedAt, outputs: watcher.count, timedOut: false };
    }
    if (now - lastProgressAt > stallMs) {
      console.error(`  no progress for ${stallMs / 1000}s (consumed ${consumed}/${high}, outbox ${outbox}, recomputes ${recomputes}): giving up`);
      return { samples, durationMs: now - startedAt, outputs: watcher.count, timedOut: true };
    }
  }
}

/** Per-second rates from cumulative samples. */
export function perSecond(samples: Sample[]): { t: number; inPerSec: number; outPerSec: number; outbox?: number }[] {
  const out: { t: number; inPerSec: number; outPerSec: number; outbox?: number }[] = [];
  let prev: Sample = { t: 0, consumed: 0, outputs: 0 };
  for (const s of samples) {
    const dt = s.t - prev.t || 1;
    out.push({
      t: Math.round(s.t * 10) / 10,
      inPerSec: Math.round((s.consumed - prev.consumed) / dt),
      outPerSec: Math.round((s.outputs - prev.outputs) / dt),
      outbox: s.outbox,
    });
    prev = s;
  }
  return out;
}
