import type { Kafka } from 'kafkajs';
import { DLQ_HEADERS, TopicNames } from '@app/contracts';
import { ApplyPort, PoisonIsolatingSlice } from './poison-isolation';

export interface ReplayRequest {
  topic: string;
  /** Start at this offset in every partition (clamped to what the topic still holds). */
  fromOffset?: number;
  /** Start at the first message at or after this instant (ms since epoch). */
  fromTimestamp?: number;
}

export interface ReplayProgress {
  read: number;
  total: number;
  applied: number;
  duplicate: number;
  noop: number;
  invalid: number;
}

/**
 * Re-reads a topic from an offset or a timestamp up to its end as it was when the replay began,
 * and applies what it reads through the normal path. Idempotent by construction: the inbox makes
 * every event already applied a duplicate. Reading the dead-letter topic (after a fix) decodes
 * each message as if it came from its original topic (`dlq_topic`). Each batch is decoded and
 * applied as the consumer does (`PoisonIsolatingSlice`): a message that is still invalid, or that
 * the store refuses alone, is counted and reported, never dead-lettered again (it is already
 * there once, or will be when the consumer reaches it), and the replay goes on.
 */
export class TopicReplay {
  constructor(
    private readonly kafka: Kafka,
    private readonly topics: TopicNames & { dlq: string },
    private readonly apply: ApplyPort,
    /** MAX_FUTURE_SKEW_MS: a replayed event still from the future is refused again. */
    private readonly maxFutureSkewMs?: number,
  ) {}

  async run(req: ReplayRequest, groupId: string, onProgress?: (p: ReplayProgress, invalidReasons: string[]) => Promise<void> | void): Promise<ReplayProgress> {
    const admin = this.kafka.admin();
    await admin.connect();
    const progress: ReplayProgress = { read: 0, total: 0, applied: 0, duplicate: 0, noop: 0, invalid: 0 };
    try {
      const bounds = await admin.fetchTopicOffsets(req.topic);
      const byTime = req.fromTimestamp !== undefined ? await admin.fetchTopicOffsetsByTimestamp(req.topic, req.fromTimestamp) : [];
      const start = new Map<number, bigint>();
      const end = new Map<number, bigint>();
      for (const b of bounds) {
        const low = BigInt(b.low);
        const high = BigInt(b.high);
        let from = low;
        if (req.fromOffset !== undefined) from = BigInt(req.fromOffset);
        const t = byTime.find((x) => x.partition === b.partition);
        if (t) from = BigInt(t.offset) < 0n ? high : BigInt(t.offset);
        from = from < low ? low : from > high ? high : from;
        start.set(b.partition, from);
        end.set(b.partition, high);
        progress.total += Number(high - from);
      }
      if (progress.total === 0) return progress;
      await admin.setOffsets({
        groupId,
        topic: req.topic,
        partitions: [...start].map(([partition, offset]) => ({ partition, offset: offset.toString() })),
      });

      const consumer = this.kafka.consumer({ groupId, sessionTimeout: 30000, heartbeatInterval: 3000 });
      await consumer.connect();
      try {
        await consumer.subscribe({ topics: [req.topic] });
        const remaining = new Set([...end].filter(([p, high]) => start.get(p)! < high).map(([p]) => p));
        await new Promise<void>((resolve, reject) => {
          consumer
            .run({
              autoCommit: false,
              eachBatchAutoResolve: false,
              // kafkajs declares these as methods but passes plain closures, made to be destructured.
              // eslint-disable-next-line @typescript-eslint/unbound-method
              eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
                const high = end.get(batch.partition)!;
                const inRange = batch.messages.filter((m) => BigInt(m.offset) < high);
                const slice = new PoisonIsolatingSlice(
                  inRange.map((m) => ({
                    topic: req.topic,
                    partition: batch.partition,
                    message: m,
                    decodeAs: req.topic === this.topics.dlq ? (m.headers?.[DLQ_HEADERS.topic]?.toString() ?? req.topic) : req.topic,
                  })),
                  this.topics,
                  this.apply,
                  { beforeRetry: heartbeat },
                  this.maxFutureSkewMs,
                );
                for (const r of await slice.run()) if (r.outcome !== 'refused') progress[r.outcome]++;
                const reasons = slice.refused().map((r) => `${req.topic}/${batch.partition}@${r.item.message.offset}: ${r.reason}`);
                progress.invalid += reasons.length;
                progress.read += inRange.length;
                const last = batch.messages[batch.messages.length - 1];
                if (last) {
                  resolveOffset(last.offset);
                  await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() }]);
                }
                await heartbeat();
                await onProgress?.({ ...progress }, reasons);
                if (!last || BigInt(last.offset) + 1n >= high) remaining.delete(batch.partition);
                if (remaining.size === 0) resolve();
              },
            })
            .catch(reject);
          consumer.on(consumer.events.CRASH, (e) => {
            if (!e.payload.restart) reject(e.payload.error);
          });
        });
      } finally {
        await consumer.disconnect();
      }
      await admin.deleteGroups([groupId]).catch(() => undefined);
      return progress;
    } finally {
      await admin.disconnect();
    }
  }
}
