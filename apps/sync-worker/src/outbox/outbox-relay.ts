import { performance } from 'node:perf_hooks';
import { Inject, Injectable } from '@nestjs/common';
import { Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { Admin, Kafka, Producer } from 'kafkajs';
import { PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '@app/config';
import { TRACEPARENT_HEADER, TRACESTATE_HEADER } from '@app/contracts';
import { partitionForKey, recordRefusal } from '@app/messaging';
import { AdvisoryLockSession, OUTBOX_CHANNEL, OutboxStore, PendingEntry, PgNotificationListener } from '@app/persistence';
import { contextOf, keepTraceHeaders, PipelineMetrics, pipelineTracer, traceContextToSend } from '@app/observability';

const BATCH = 2000;
/** Partitions can be added to the output topic: the leader reads the count again this often. */
const PARTITIONS_TTL_MS = 60_000;
/** The parked gauge (and holding new events behind parked ones) at most this often. */
const GAUGES_EVERY_MS = 1000;
const HEADERS = { 'content-type': 'application/cloudevents+json; charset=UTF-8' };

/**
 * A pending event on its way: the value and headers as sent, when it was read (for the publish
 * latency), and its publish span (ended once: acknowledged, parked, or failed for this round).
 */
interface Outgoing extends PendingEntry {
  value: string;
  headers: Record<string, string>;
  readAt: number;
  span: Span;
  spanEnded?: boolean;
}

/**
 * Publishes the outbox to the output topic in insertion order, then purges what the broker
 * acknowledged. One relay at a time holds a session advisory lock (per schema), so a key's
 * versions leave in order from a single idempotent producer; other instances stand by and
 * take over when that session ends. It wakes on NOTIFY at commit and polls as a fallback.
 *
 * Each output partition's events go in requests of their own. The broker answers a produce
 * request per partition, and kafkajs 2.2.4 throws on the first partition error after the other
 * partitions were appended (and rolls back their sequence numbers too), so a request spanning
 * partitions cannot say which part to purge. An event the broker refuses for good is parked
 * with its key's later versions (see sendPartition); everything else flows on.
 */
@Injectable()
export class OutboxRelay {
  private running = false;
  private loop?: Promise<void>;
  private lock?: AdvisoryLockSession;
  private unsubscribe?: () => void;
  private wake?: () => void;
  /** A NOTIFY that came while the relay was busy: the next idle returns at once. */
  private notified = false;
  private producer?: Producer;
  private admin?: Admin;
  private partitions?: { count: number; readAt: number };
  private gaugesAt = Number.NEGATIVE_INFINITY;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly kafka: Kafka,
    private readonly outbox: OutboxStore,
    private readonly notifications: PgNotificationListener,
    private readonly metrics: PipelineMetrics,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext(OutboxRelay.name);
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  /** Finishes the batch in flight (published and purged), then releases the lock. */
  async stop(): Promise<void> {
    this.running = false;
    this.nudge();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.lead();
      } catch (err) {
        this.metrics.retries.inc({ stage: 'relay' });
        this.logger.error({ err }, 'relay failed; retrying');
        await this.teardown();
        await this.idle(1000);
      }
    }
    await this.teardown();
  }

  /** Becomes the leader (or waits to), then publishes until stopped or the lock's session breaks. */
  private async lead(): Promise<void> {
    const lock = new AdvisoryLockSession(this.config.database, 'relay-lock', () => this.nudge());
    this.lock = lock;
    const lockKey = `enrollment-sync:outbox-relay:${this.config.database.schema}`;
    while (!(await lock.tryAcquire(lockKey))) {
      await this.idle(2000);
      if (!this.running) return;
    }
    // While the shared listener is down the relay polls every OUTBOX_POLL_MS; when it is back,
    // what was notified meanwhile is pending, so the next read comes at once.
    this.unsubscribe = this.notifications.subscribe(OUTBOX_CHANNEL, {
      notified: () => this.nudge(),
      listenerDown: (down) => {
        if (!down) this.nudge();
      },
    });
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await this.producer.connect();
    this.admin = this.kafka.admin();
    await this.admin.connect();
    this.partitions = undefined;
    this.gaugesAt = Number.NEGATIVE_INFINITY;
    this.logger.info('relay leading');

    while (this.running) {
      if (lock.lost) throw lock.lost; // the lock went with its session: stop publishing at once
      await this.refreshGauges();
      const pending = await this.outbox.next(BATCH);
      this.notified = false; // whatever was notified so far is in this read
      if (pending.length === 0) {
        await this.idle(this.config.outboxPollMs);
        continue;
      }
      await this.publish(pending);
    }
  }

  /**
   * Sends each partition's share of the batch (partitions side by side), purging what each
   * acknowledged as it goes. A partition that fails stops alone; the failure is thrown once the
   * others are done, so only its unacknowledged events are sent again.
   */
  private async publish(pending: PendingEntry[]): Promise<void> {
    const partitionCount = await this.partitionCount();
    const readAt = performance.now();
    const byPartition = new Map<number, Outgoing[]>();
    const all: Outgoing[] = [];
    for (const e of pending) {
      const partition = partitionForKey(e.enrollmentId, partitionCount);
      const list = byPartition.get(partition) ?? [];
      const out = this.outgoing(e, partition, readAt);
      list.push(out);
      all.push(out);
      byPartition.set(partition, list);
    }
    try {
      const results = await Promise.allSettled([...byPartition].map(([partition, list]) => this.sendPartition(partition, list, new Map())));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    } finally {
      for (const e of all) endSpan(e, { code: SpanStatusCode.ERROR, message: 'not acknowledged: sent again' });
    }
  }

  /**
   * The event as sent. Its publish span is a child of the context stored with the outbox row
   * (the input event that caused the change), and the `traceparent`/`tracestate` headers (the
   * CloudEvents distributed tracing extension, Kafka binding) carry the span's context, or the
   * stored one as is when tracing is off: downstream the trace goes on either way.
   */
  private outgoing(e: PendingEntry, partition: number, readAt: number): Outgoing {
    const topic = this.config.topics.courseEnrollments;
    const span = pipelineTracer().startSpan(
      `publish ${topic}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': 'kafka',
          'messaging.operation.type': 'send',
          'messaging.destination.name': topic,
          'messaging.destination.partition.id': String(partition),
          'messaging.kafka.message.key': e.enrollmentId,
          'enrollment_sync.version': e.version,
        },
      },
      contextOf(e.traceContext),
    );
    const trace = traceContextToSend(span, e.traceContext);
    const headers: Record<string, string> = { ...HEADERS };
    if (trace) {
      headers[TRACEPARENT_HEADER] = trace.traceparent;
      if (trace.tracestate) headers[TRACESTATE_HEADER] = trace.tracestate;
    }
    return { ...e, value: JSON.stringify(e.event), headers, readAt, span };
  }

  /**
   * Sends `entries` (one partition's, in outbox order) as one request. The broker refuses a whole
   * record batch over the topic's `max.message.bytes`, even when each record alone would fit, so
   * a refused request is split in halves, first half first, until the refused event stands
   * alone; that one is parked, and its key's later events (`parked`) are not sent past it. Any
   * other failure is thrown: what was acknowledged before it is already purged.
   */
  private async sendPartition(partition: number, entries: Outgoing[], parked: Map<string, number>): Promise<void> {
    const live = entries.filter((e) => !parked.has(e.enrollmentId));
    if (live.length === 0) return;
    try {
      await this.producer!.send({
        topic: this.config.topics.courseEnrollments,
        acks: -1,
        messages: live.map((e) => keepTraceHeaders({ key: e.enrollmentId, value: e.value, partition, headers: { ...e.headers } })),
      });
    } catch (err) {
      const refusal = recordRefusal(err);
      if (refusal === undefined) throw err;
      if (live.length > 1) {
        const half = Math.ceil(live.length / 2);
        await this.sendPartition(partition, live.slice(0, half), parked);
        await this.sendPartition(partition, live.slice(half), parked);
      } else {
        await this.park(partition, live[0], refusal);
        parked.set(live[0].enrollmentId, live[0].version);
      }
      return;
    }
    await this.acknowledged(live);
  }

  private async acknowledged(sent: Outgoing[]): Promise<void> {
    const ackedAt = performance.now();
    await this.outbox.purge(sent.map((e) => e.seq));
    for (const e of sent) {
      const type = (e.event as { type: string }).type.replace('lms.course_enrollment.', '');
      this.metrics.outputEvents.inc({ type });
      this.metrics.relayPublishSeconds.observe(e.ageSeconds + (ackedAt - e.readAt) / 1000);
      endSpan(e, { code: SpanStatusCode.OK });
    }
  }

  /** Sets the refused event aside with the broker's reason and holds its key's later versions. */
  private async park(partition: number, e: Outgoing, reason: string): Promise<void> {
    const rows = await this.outbox.park(e.enrollmentId, e.version, reason);
    endSpan(e, { code: SpanStatusCode.ERROR, message: `parked: ${reason}` });
    this.logger.warn(
      {
        enrollmentId: e.enrollmentId,
        version: e.version,
        partition,
        bytes: Buffer.byteLength(e.value),
        reason,
        heldVersions: rows.versions.filter((v) => v !== e.version),
      },
      'outbox event parked: the broker refuses it; later versions of its key are held (npm run ops -- parked)',
    );
    this.gaugesAt = Number.NEGATIVE_INFINITY;
  }

  /** Partitions of the output topic, as the producer's default partitioner counts them. */
  private async partitionCount(): Promise<number> {
    const now = performance.now();
    if (this.partitions && now - this.partitions.readAt < PARTITIONS_TTL_MS) return this.partitions.count;
    const topic = this.config.topics.courseEnrollments;
    const { topics } = await this.admin!.fetchTopicMetadata({ topics: [topic] });
    const count = topics.find((t) => t.name === topic)?.partitions.length ?? 0;
    if (count < 1) throw new Error(`output topic ${topic} has no partitions in the broker's metadata`);
    this.partitions = { count, readAt: now };
    return count;
  }

  /**
   * Sets the pending count and the oldest pending event's age on every loop (one query), so
   * both move while the relay runs, whether or not anyone polls readiness. At most once a
   * second it also marks events the projection wrote behind a parked version as held and sets
   * the parked gauge.
   */
  private async refreshGauges(): Promise<void> {
    const now = performance.now();
    if (now - this.gaugesAt >= GAUGES_EVERY_MS) {
      this.gaugesAt = now;
      const held = await this.outbox.holdBehindParked();
      for (const h of held) {
        this.logger.warn({ enrollmentId: h.enrollmentId, versions: h.versions }, 'outbox events held behind a parked version of their key');
      }
      this.metrics.outboxParked.set(await this.outbox.parkedCount());
    }
    const { count, oldestAgeSeconds } = await this.outbox.pendingStats();
    this.metrics.outboxPending.set(count);
    this.metrics.outboxOldestAgeSeconds.set(oldestAgeSeconds);
  }

  private nudge(): void {
    this.notified = true;
    this.wake?.();
  }

  private idle(ms: number): Promise<void> {
    if (this.notified || !this.running) {
      this.notified = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.notified = false;
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private async teardown(): Promise<void> {
    const producer = this.producer;
    const admin = this.admin;
    const lock = this.lock;
    this.producer = undefined;
    this.admin = undefined;
    this.lock = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await producer?.disconnect().catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
    await lock?.release();
  }
}

function endSpan(e: Outgoing, status: { code: SpanStatusCode; message?: string }): void {
  if (e.spanEnded) return;
  e.spanEnded = true;
  e.span.setStatus(status);
  e.span.end();
}
