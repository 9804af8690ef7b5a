import { Inject, Injectable } from '@nestjs/common';
import { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, AppConfig, inputTopics } from '@app/config';
import { classifyFailure, DeadLetterPublisher, failureReason, PoisonIsolatingSlice } from '@app/messaging';
import { PipelineMetrics } from '@app/observability';
import { InputApplier } from '@app/projection';
import { ConsumerProgress } from './consumer-progress';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A heartbeat failed during a bisection: the group is rebalancing and the slice is no longer ours to retry. */
class PartitionLost extends Error {
  constructor(readonly heartbeatError: unknown) {
    super('heartbeat failed while bisecting a slice');
  }
}

/**
 * Consumes the four input topics in batches. Each slice of a batch is decoded at the edge and
 * applied in one Postgres transaction (`PoisonIsolatingSlice`: a message that breaks the
 * contract, or that the store refuses even alone once its slice is bisected, becomes a dead
 * letter), its dead letters are published, and only then are its offsets committed. A crash
 * anywhere re-reads the slice, and the inbox turns what was already applied into duplicates.
 * Transient failures and lock conflicts are retried in place, with heartbeats, for as long as
 * this consumer owns the partition; they never dead-letter anything.
 */
@Injectable()
export class InputConsumer {
  private consumer?: Consumer;
  private watch?: NodeJS.Timeout;
  private watchAdmin?: Admin;
  readonly progress: ConsumerProgress;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly kafka: Kafka,
    private readonly applier: InputApplier,
    private readonly deadLetters: DeadLetterPublisher,
    private readonly metrics: PipelineMetrics,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext(InputConsumer.name);
    this.progress = new ConsumerProgress(metrics.consumerLag);
  }

  async start(): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: this.config.kafka.groupId,
      sessionTimeout: this.config.kafka.sessionTimeoutMs,
      heartbeatInterval: Math.min(3000, Math.floor(this.config.kafka.sessionTimeoutMs / 3)),
      maxBytesPerPartition: 4 * 1024 * 1024,
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 10000 },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (e) => this.progress.assigned(e.payload.memberAssignment));
    for (const left of [consumer.events.REBALANCING, consumer.events.CRASH, consumer.events.STOP]) {
      consumer.on(left, () => this.progress.left());
    }
    const limit = await this.deadLetters.readTopicLimit(this.kafka);
    this.logger.info({ topic: this.config.topics.dlq, maxMessageBytes: limit }, 'dead letters are sent in requests under this size');
    await consumer.connect();
    await consumer.subscribe({ topics: inputTopics(this.config), fromBeginning: true });
    await consumer.run({
      // Partitions are applied side by side, each slice in its own transaction; the lock
      // protocol that keeps overlapping slices equal to a serial run is in docs/architecture.md.
      partitionsConsumedConcurrently: this.config.ingestConcurrency,
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.onBatch(payload),
    });
    this.watchOffsets();
    this.logger.info({ topics: inputTopics(this.config), group: this.config.kafka.groupId }, 'consuming');
  }

  /** Returns once the batch in flight has been committed or abandoned (never half-applied). */
  async stop(): Promise<void> {
    clearTimeout(this.watch);
    this.watch = undefined;
    await this.watchAdmin?.disconnect().catch(() => undefined);
    this.watchAdmin = undefined;
    await this.consumer?.disconnect();
    this.consumer = undefined;
    this.progress.left();
  }

  private async onBatch(p: EachBatchPayload): Promise<void> {
    const { batch } = p;
    if (batch.messages.length > 0) {
      this.progress.fetched(batch.topic, batch.partition, BigInt(batch.messages[0].offset), BigInt(batch.highWatermark));
    }
    // Messages per transaction (INGEST_SLICE_SIZE): big enough to amortise a round trip, small
    // enough to heartbeat between slices.
    const size = this.config.ingestSliceSize;
    for (let i = 0; i < batch.messages.length; i += size) {
      if (!p.isRunning() || p.isStale()) return;
      const slice = batch.messages.slice(i, i + size);
      const ok = await this.applySlice(p, slice);
      if (!ok) return;
      const last = slice[slice.length - 1].offset;
      const next = BigInt(last) + 1n;
      // Through the batch's own commit, not consumer.commitOffsets: when the group has expelled
      // this member meanwhile, the latter wraps "unknown member" into a non-retriable error that
      // stops the consumer for good; this one keeps the protocol error, on which kafkajs re-joins
      // and re-reads the slice from the committed offset.
      await p.commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next.toString() }] }] });
      p.resolveOffset(last);
      this.progress.committed(batch.topic, batch.partition, next);
      await p.heartbeat();
    }
  }

  /** Applies or dead-letters every message of the slice; false if the partition was lost meanwhile. */
  private async applySlice(p: EachBatchPayload, slice: KafkaMessage[]): Promise<boolean> {
    const { topic, partition } = p.batch;
    const started = process.hrtime.bigint();
    const isolating = new PoisonIsolatingSlice(
      slice.map((message) => ({ topic, partition, message })),
      this.config.topics,
      (events) => this.applier.apply(events),
      {
        onPoison: (err, messages) => {
          this.metrics.sliceFailures.inc({ kind: 'poison' });
          this.logger.warn({ topic, partition, messages, error: failureReason(err) }, 'part of a slice failed as poison; bisecting');
        },
        beforeRetry: () =>
          p.heartbeat().catch((err) => {
            throw new PartitionLost(err);
          }),
      },
    );
    let lettersSent = false;
    const results = await this.withRetry(p, async () => {
      const outcomes = await isolating.run();
      if (!lettersSent) {
        await this.deadLetters.send(isolating.refused().map((r) => ({ ...r.item, reason: r.reason, stage: r.stage })));
        lettersSent = true;
      }
      return outcomes;
    });
    if (!results) return false;

    for (const r of results) this.metrics.inputMessages.inc({ outcome: r.outcome === 'refused' ? 'dead_lettered' : r.outcome, topic });
    for (const r of isolating.refused()) {
      this.logger.warn({ topic, partition, offset: r.item.message.offset, stage: r.stage, reason: r.reason }, 'dead-lettered');
    }
    this.metrics.sliceSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    return true;
  }

  /**
   * Runs `fn` until it succeeds. Gives up (returns undefined, nothing committed) only when this
   * consumer no longer owns the partition, so the next owner re-reads the slice.
   */
  private async withRetry<T>(p: EachBatchPayload, fn: () => Promise<T>): Promise<T | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        // kafkajs re-fetches from the committed offset after the rebalance: nothing to retry here.
        if (err instanceof PartitionLost) throw err.heartbeatError;
        const kind = classifyFailure(err);
        this.metrics.sliceFailures.inc({ kind });
        this.metrics.retries.inc({ stage: 'apply' });
        const where = { attempt, kind, topic: p.batch.topic, partition: p.batch.partition, error: failureReason(err) };
        if (kind === 'conflict') {
          // Another slice applied at the same time won the lock: the transaction rolled back
          // whole, so running it again is safe. Expected under concurrency, not an outage.
          this.logger.warn(where, 'slice lost a lock conflict; retrying');
          await sleep(10 + Math.floor(Math.random() * 40 * Math.min(attempt + 1, 10)));
        } else {
          // Transient (a dependency is down), or a dead-letter send that failed: wait and retry.
          this.logger.error(where, 'slice failed; retrying');
          await sleep(Math.min(200 * 2 ** attempt, 5000));
        }
        if (!p.isRunning() || p.isStale()) return undefined;
        await p.heartbeat(); // throws on a rebalance: kafkajs then re-fetches from the committed offset
      }
    }
  }

  /**
   * Every few seconds, reads the high watermarks and the group's committed offsets of the owned
   * partitions, so the lag gauge and the stall check see messages piling up behind a slice that
   * does not move (kafkajs reports a batch's watermark only when it delivers the batch).
   */
  private watchOffsets(): void {
    const every = Math.max(250, Math.min(5000, Math.floor(this.config.stallAfterMs / 4)));
    const admin = this.kafka.admin();
    this.watchAdmin = admin;
    let connected = false;
    const look = async () => {
      const owned = this.progress.owned();
      if (owned.size === 0) return;
      if (!connected) {
        await admin.connect();
        connected = true;
        if (this.watchAdmin !== admin) return void (await admin.disconnect()); // stopped meanwhile
      }
      const topics = [...owned.keys()];
      const committed = await admin.fetchOffsets({ groupId: this.config.kafka.groupId, topics });
      for (const topic of topics) {
        const offsets = await admin.fetchTopicOffsets(topic);
        const group = committed.find((c) => c.topic === topic)?.partitions ?? [];
        for (const o of offsets) {
          const c = group.find((g) => g.partition === o.partition)?.offset ?? '-1';
          this.progress.observed(topic, o.partition, BigInt(o.high), BigInt(c), BigInt(o.low));
        }
      }
    };
    const tick = () => {
      this.watch = setTimeout(() => {
        look()
          .catch((err) => this.logger.debug({ error: failureReason(err) }, 'could not read partition offsets; trying again'))
          .finally(() => {
            if (this.watchAdmin === admin) tick();
          });
      }, every);
      this.watch.unref();
    };
    tick();
  }
}
