import { Inject, Injectable } from '@nestjs/common';
import { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, AppConfig, inputTopics } from '@app/config';
import { decodeMessage, InputEvent } from '@app/contracts';
import { DeadLetter, DeadLetterPublisher, isLockConflict } from '@app/messaging';
import { PipelineMetrics } from '@app/observability';
import { InputApplier } from '@app/projection';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Consumes the four input topics in batches. Each slice of a batch is decoded at the edge
 * (bad messages become dead letters), applied in one Postgres transaction, its dead letters
 * published, and only then its offsets committed. A crash anywhere re-reads the slice, and the
 * inbox turns what was already applied into duplicates. Transient failures are retried in
 * place, with heartbeats, for as long as this consumer owns the partition.
 */
@Injectable()
export class InputConsumer {
  private consumer?: Consumer;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly kafka: Kafka,
    private readonly applier: InputApplier,
    private readonly deadLetters: DeadLetterPublisher,
    private readonly metrics: PipelineMetrics,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext(InputConsumer.name);
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
    await consumer.connect();
    await consumer.subscribe({ topics: inputTopics(this.config), fromBeginning: true });
    await consumer.run({
      // Partitions are applied side by side, each slice in its own transaction; the lock
      // protocol that keeps overlapping slices equal to a serial run is in docs/architecture.md.
      partitionsConsumedConcurrently: this.config.ingestConcurrency,
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.onBatch(consumer, payload),
    });
    this.logger.info({ topics: inputTopics(this.config), group: this.config.kafka.groupId }, 'consuming');
  }

  /** Returns once the batch in flight has been committed or abandoned (never half-applied). */
  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    this.consumer = undefined;
  }

  private async onBatch(consumer: Consumer, p: EachBatchPayload): Promise<void> {
    const { batch } = p;
    // Messages per transaction (INGEST_SLICE_SIZE): big enough to amortise a round trip, small
    // enough to heartbeat between slices.
    const size = this.config.ingestSliceSize;
    for (let i = 0; i < batch.messages.length; i += size) {
      if (!p.isRunning() || p.isStale()) return;
      const slice = batch.messages.slice(i, i + size);
      const ok = await this.withRetry(p, () => this.applySlice(batch.topic, batch.partition, slice));
      if (!ok) return;
      const last = slice[slice.length - 1].offset;
      await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }]);
      p.resolveOffset(last);
      await p.heartbeat();
    }
  }

  private async applySlice(topic: string, partition: number, slice: KafkaMessage[]): Promise<void> {
    const started = process.hrtime.bigint();
    const events: InputEvent[] = [];
    const letters: DeadLetter[] = [];
    for (const message of slice) {
      const decoded = decodeMessage(
        { topic, key: message.key, value: message.value, headers: message.headers ?? {} },
        this.config.topics,
      );
      if (decoded.ok) events.push(decoded.event);
      else letters.push({ topic, partition, message, reason: decoded.reason });
    }
    const result = await this.applier.apply(events);
    await this.deadLetters.send(letters);

    const count = (outcome: string, n = 1) => this.metrics.inputMessages.inc({ outcome, topic }, n);
    for (const o of result.outcomes) count(o);
    if (letters.length > 0) {
      count('dead_lettered', letters.length);
      for (const l of letters) {
        this.logger.warn({ topic, partition, offset: l.message.offset, reason: l.reason }, 'dead-lettered');
      }
    }
    this.metrics.sliceSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
  }

  /**
   * Runs `fn` until it succeeds. Gives up (returns false, nothing committed) only when this
   * consumer no longer owns the partition, so the next owner re-reads the slice.
   */
  private async withRetry(p: EachBatchPayload, fn: () => Promise<void>): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await fn();
        return true;
      } catch (err) {
        this.metrics.retries.inc({ stage: 'apply' });
        const where = { attempt, topic: p.batch.topic, partition: p.batch.partition };
        if (isLockConflict(err)) {
          // Another slice applied at the same time won the lock: the transaction rolled back
          // whole, so running it again is safe. Expected under concurrency, not an outage.
          this.logger.warn({ ...where, code: (err as { code?: string }).code }, 'slice lost a lock conflict; retrying');
          await sleep(10 + Math.floor(Math.random() * 40 * Math.min(attempt + 1, 10)));
        } else {
          this.logger.error({ err, ...where }, 'slice failed; retrying');
          await sleep(Math.min(200 * 2 ** attempt, 5000));
        }
        if (!p.isRunning() || p.isStale()) return false;
        await p.heartbeat(); // throws on a rebalance: kafkajs then re-fetches from the committed offset
      }
    }
  }
}
