import { ArgumentsHost, Catch, Inject, Injectable, RpcExceptionFilter } from '@nestjs/common';
import { BaseRpcContext, CustomTransportStrategy, Server } from '@nestjs/microservices';
import { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { PinoLogger } from 'nestjs-pino';
import { lastValueFrom, Observable, throwError } from 'rxjs';
import { APP_CONFIG, AppConfig, inputTopics } from '@app/config';
import { classifyFailure, failureReason } from '@app/messaging';
import { PipelineMetrics } from '@app/observability';
import { ConsumerProgress } from './consumer-progress';

/** The one pattern the batch transport emits: a slice of one partition's batch, applied as a unit. */
export const INPUT_SLICE = 'enrollment-sync.input-slice';

/** The payload of an INPUT_SLICE event: consecutive messages of one partition. */
export interface InputSlice {
  topic: string;
  partition: number;
  messages: KafkaMessage[];
}

/** A heartbeat failed while a handler was working on a slice: the group is rebalancing and the slice is no longer ours. */
export class PartitionLost extends Error {
  constructor(readonly heartbeatError: unknown) {
    super('heartbeat failed while applying a slice');
  }
}

/**
 * What a slice handler gets besides the payload. The transport hands the same context to every
 * attempt at one slice (it retries a failed handler in place), so a handler may keep what it
 * already did for the slice keyed on it.
 */
export class InputSliceContext extends BaseRpcContext<[string, number, () => Promise<void>]> {
  getTopic(): string {
    return this.args[0];
  }

  getPartition(): number {
    return this.args[1];
  }

  /** Tells the group this consumer is alive; throws PartitionLost once the partition is no longer ours. */
  heartbeat(): Promise<void> {
    return this.args[2]();
  }
}

/**
 * Nest's default RPC exception filter logs an unknown error and replaces it with
 * `{ status: 'error', message: 'Internal server error' }`. The batch transport decides what a
 * failure means (retry a transient one, never commit past it) from the error itself
 * (`classifyFailure`), so a slice handler's error must reach it unchanged.
 */
@Catch()
export class FailurePassthroughFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    return throwError(() => exception);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The sync worker's Nest microservice transport: a kafkajs batch consumer of the four input
 * topics. Each batch is cut into slices of INGEST_SLICE_SIZE messages, partitions side by side
 * (INGEST_CONCURRENCY); each slice goes to the `@EventPattern(INPUT_SLICE)` handler, whose
 * result is awaited. A handler failure comes back here as the error it threw (see
 * FailurePassthroughFilter): transient failures and lock conflicts are retried in place, with
 * heartbeats, for as long as this consumer owns the partition. Only once the handler has
 * succeeded (the slice is committed in Postgres and its dead letters are out) are the slice's
 * offsets committed. A crash anywhere re-reads the slice; the inbox turns what was already
 * applied into duplicates.
 *
 * `close()` stops fetching and returns once the slice in flight is committed or abandoned whole.
 * It is idempotent: SyncWorkerLifecycle calls it first thing on shutdown, because Nest runs the
 * before-shutdown hooks (relay flush) before it closes the transport on a signal.
 */
@Injectable()
export class KafkaBatchTransport extends Server implements CustomTransportStrategy {
  private consumer?: Consumer;
  private watch?: NodeJS.Timeout;
  private watchAdmin?: Admin;
  private closing?: Promise<void>;
  private replacing?: NodeJS.Timeout;
  readonly progress: ConsumerProgress;
  /** The slice handler's failures are awaited and handled here, not logged and dropped by Nest. */
  override readonly propagatesEventHandlerErrors = true;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly kafka: Kafka,
    private readonly metrics: PipelineMetrics,
    private readonly log: PinoLogger,
  ) {
    super();
    log.setContext(KafkaBatchTransport.name);
    this.progress = new ConsumerProgress(metrics.consumerLag);
  }

  listen(callback: (err?: unknown) => void): void {
    this.start().then(() => callback(), callback);
  }

  close(): Promise<void> {
    this.closing ??= this.stop();
    return this.closing;
  }

  on(): never {
    throw new Error('KafkaBatchTransport emits no events');
  }

  unwrap<T>(): T {
    return this.consumer as T;
  }

  private async start(): Promise<void> {
    if (!this.getHandlerByPattern(INPUT_SLICE)) throw new Error(`no @EventPattern('${INPUT_SLICE}') handler is registered`);
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
    // kafkajs restarts a consumer that crashed on a retriable error, but one that crashed on any
    // other (e.g. a commit refused after the group expelled this member) just stops: the process
    // would stay up, consuming nothing, until its readiness turned 503. Start a new one instead.
    consumer.on(consumer.events.CRASH, (e) => {
      if (e.payload.restart || this.closing !== undefined || this.consumer !== consumer) return;
      this.log.error({ error: failureReason(e.payload.error) }, 'consumer stopped on an error kafkajs does not restart on; starting a new one');
      this.replacing = setTimeout(() => void this.replace(consumer, 1), 1000);
    });
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
    this.log.info({ topics: inputTopics(this.config), group: this.config.kafka.groupId }, 'consuming');
  }

  /** Replaces a consumer that kafkajs gave up on, retrying with backoff until one runs or the transport closes. */
  private async replace(old: Consumer, attempt: number): Promise<void> {
    if (this.closing !== undefined || this.consumer !== old) return;
    clearTimeout(this.watch);
    this.watch = undefined;
    await this.watchAdmin?.disconnect().catch(() => undefined);
    this.watchAdmin = undefined;
    await old.disconnect().catch(() => undefined);
    if (this.closing !== undefined) return;
    try {
      await this.start();
    } catch (err) {
      this.log.error({ error: failureReason(err), attempt }, 'starting a new consumer failed; trying again');
      const next = this.consumer ?? old;
      this.replacing = setTimeout(() => void this.replace(next, attempt + 1), Math.min(1000 * 2 ** attempt, 30000));
    }
  }

  /** Returns once the batch in flight has been committed or abandoned (never half-applied). */
  private async stop(): Promise<void> {
    clearTimeout(this.replacing);
    clearTimeout(this.watch);
    this.watch = undefined;
    await this.watchAdmin?.disconnect().catch(() => undefined);
    this.watchAdmin = undefined;
    // kafkajs stops fetching and waits for the eachBatch in flight, which sees isRunning() false
    // after its current slice and returns.
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
      const messages = batch.messages.slice(i, i + size);
      const ok = await this.deliver(p, messages);
      if (!ok) return;
      const last = messages[messages.length - 1].offset;
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

  /**
   * Hands the slice to its handler until the handler succeeds; false (nothing committed) only
   * when this consumer no longer owns the partition, so the next owner re-reads the slice.
   */
  private async deliver(p: EachBatchPayload, messages: KafkaMessage[]): Promise<boolean> {
    const { topic, partition } = p.batch;
    const slice: InputSlice = { topic, partition, messages };
    const heartbeat = () =>
      p.heartbeat().catch((err) => {
        throw new PartitionLost(err);
      });
    const ctx = new InputSliceContext([topic, partition, heartbeat]);
    const started = process.hrtime.bigint();
    for (let attempt = 0; ; attempt++) {
      try {
        await this.invoke(slice, ctx);
        this.metrics.sliceSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
        return true;
      } catch (err) {
        // kafkajs re-fetches from the committed offset after the rebalance: nothing to retry here.
        if (err instanceof PartitionLost) throw err.heartbeatError;
        const kind = classifyFailure(err);
        this.metrics.sliceFailures.inc({ kind });
        this.metrics.retries.inc({ stage: 'apply' });
        const where = { attempt, kind, topic, partition, error: failureReason(err) };
        if (kind === 'conflict') {
          // Another slice applied at the same time won the lock: the transaction rolled back
          // whole, so running it again is safe. Expected under concurrency, not an outage.
          this.log.warn(where, 'slice lost a lock conflict; retrying');
          await sleep(10 + Math.floor(Math.random() * 40 * Math.min(attempt + 1, 10)));
        } else {
          // Transient (a dependency is down), or a dead-letter send that failed: wait and retry.
          this.log.error(where, 'slice failed; retrying');
          await sleep(Math.min(200 * 2 ** attempt, 5000));
        }
        if (!p.isRunning() || p.isStale()) return false;
        await p.heartbeat(); // throws on a rebalance: kafkajs then re-fetches from the committed offset
      }
    }
  }

  /**
   * Runs the slice handler and resolves when it has finished: its promise and, if it returns a
   * stream, the stream's completion. Rejects with what the handler threw.
   */
  async invoke(slice: InputSlice, ctx: InputSliceContext): Promise<void> {
    const handler = this.getHandlerByPattern(INPUT_SLICE);
    if (!handler) throw new Error(`no @EventPattern('${INPUT_SLICE}') handler is registered`);
    // Declared `void` by Nest, but it returns the hooks' promise, which settles when the handler does.
    await (this.runWithProcessingHooks(ctx, async (runEndHook) => {
      await lastValueFrom(this.transformToObservable(await handler(slice, ctx)), { defaultValue: undefined });
      runEndHook();
    }) as unknown as Promise<void>);
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
          .catch((err) => this.log.debug({ error: failureReason(err) }, 'could not read partition offsets; trying again'))
          .finally(() => {
            if (this.watchAdmin === admin) tick();
          });
      }, every);
      this.watch.unref();
    };
    tick();
  }
}
