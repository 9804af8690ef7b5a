import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Inject, Injectable } from '@nestjs/common';
import { Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { Admin, Kafka, Producer } from 'kafkajs';
import { PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '@app/config';
import { TRACEPARENT_HEADER, TRACESTATE_HEADER } from '@app/contracts';
import { partitionForKey, recordRefusal } from '@app/messaging';
import { OUTBOX_CHANNEL, OutboxStore, OutputPartitions, PendingEntry, PgNotificationListener, RelaySlotStore } from '@app/persistence';
import { contextOf, keepTraceHeaders, PipelineMetrics, pipelineTracer, traceContextToSend } from '@app/observability';
import { fairShare, partitionsOfSlots, rebalance, slotOfPartition } from './slot-plan';

const BATCH = 2000;
/** Partitions can be added to the output topic: the relay reads the count again this often. */
const PARTITIONS_TTL_MS = 60_000;
/** The parked gauge (and holding new events behind parked ones) at most this often. */
const GAUGES_EVERY_MS = 1000;
/** Rows written without a partition get one, this many keys per statement. */
const ASSIGN_BATCH = 1000;
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

/** Thrown when a slot's lease is too short to send, or ran out while a send was in flight. */
class SlotLeaseLost extends Error {
  constructor(
    readonly slot: number,
    why: string,
  ) {
    super(`relay slot ${slot}: ${why}`);
  }
}

/**
 * Publishes the outbox to the output topic, each key's versions in insertion order, then purges
 * what the broker acknowledged. The work is split into slots (slot = the row's output partition
 * mod the slot count, RELAY_SLOTS or the topic's partition count): every replica heartbeats in
 * `outbox_relay_replicas`, holds leases on up to a fair share of the slots (ceil(slots ÷ live
 * replicas)) in `outbox_relay_slots`, and publishes only its slots' partitions. A key's rows
 * all carry one partition, so one replica at a time publishes them, in order.
 *
 * Hand-over keeps per-key order: a replica renews its leases every third of SLOT_TAKEOVER_MS;
 * it starts a send only while the slot's lease has more than a send's budget left (a third of
 * the lease), abandons a send that outlives that budget, and purges a batch only if it still
 * owns the slot then. Another replica takes a slot only once its lease ran out or was released,
 * so the old owner has stopped sending by then; it resends what was not purged (at least once,
 * the same versions). Surplus slots (a replica joined) and, on stop, all slots are released
 * between batches, after the batch in flight was acknowledged.
 *
 * Each output partition's events go in requests of their own. The broker answers a produce
 * request per partition, and kafkajs 2.2.4 throws on the first partition error after the other
 * partitions were appended (and rolls back their sequence numbers too), so a request spanning
 * partitions cannot say which part to purge. An event the broker refuses for good is parked
 * with its key's later versions (see sendPartition); everything else flows on.
 */
@Injectable()
export class OutboxRelay {
  /** hostname-pid-random: unique per process, and readable in `outbox_relay_slots.owner`. */
  readonly replica = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private running = false;
  private loop?: Promise<void>;
  private unsubscribe?: () => void;
  private wake?: () => void;
  /** A NOTIFY that came while the relay was busy: the next idle returns at once. */
  private notified = false;
  private producer?: Producer;
  private producerReady?: Promise<Producer>;
  private admin?: Admin;
  private partitions?: { count: number; readAt: number };
  private gaugesAt = Number.NEGATIVE_INFINITY;
  private assignAt = Number.NEGATIVE_INFINITY;
  private slotCount?: number;
  /** Slot → until when (performance.now()) this replica may send for it: a lower bound of the lease. */
  private readonly leases = new Map<number, number>();
  private manageAt = Number.NEGATIVE_INFINITY;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly kafka: Kafka,
    private readonly outbox: OutboxStore,
    private readonly slots: RelaySlotStore,
    private readonly notifications: PgNotificationListener,
    private readonly outputPartitions: OutputPartitions,
    private readonly metrics: PipelineMetrics,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext(OutboxRelay.name);
  }

  /** The slots this replica holds right now. */
  get ownedSlots(): number[] {
    return [...this.leases.keys()].sort((a, b) => a - b);
  }

  start(): void {
    this.running = true;
    // While the shared listener is down the relay polls every OUTBOX_POLL_MS; when it is back,
    // what was notified meanwhile is pending, so the next read comes at once.
    this.unsubscribe = this.notifications.subscribe(OUTBOX_CHANNEL, {
      notified: () => this.nudge(),
      listenerDown: (down) => {
        if (!down) this.nudge();
      },
    });
    this.loop = this.run();
  }

  /** Finishes the batch in flight (published and purged), then releases its slots at once. */
  async stop(): Promise<void> {
    this.running = false;
    this.nudge();
    await this.loop;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  private get ttlMs(): number {
    return this.config.slotTakeoverMs;
  }

  /** A send may start only with this much lease left, and is abandoned after it. */
  private get sendBudgetMs(): number {
    return Math.floor(this.ttlMs / 3);
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.serve();
      } catch (err) {
        this.metrics.retries.inc({ stage: 'relay' });
        this.logger.error({ err }, 'relay failed; retrying');
        await this.teardown();
        await this.idle(1000);
      }
    }
    await this.leave();
    await this.teardown();
  }

  /** Publishes its slots' partitions until stopped; takes and gives slots up between batches. */
  private async serve(): Promise<void> {
    await this.connectedProducer();
    if (!this.admin) {
      const admin = this.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    this.partitions = undefined;
    this.gaugesAt = Number.NEGATIVE_INFINITY;
    this.assignAt = Number.NEGATIVE_INFINITY;
    this.manageAt = Number.NEGATIVE_INFINITY;

    while (this.running) {
      // Database only: the gauges show a backlog even while the broker is unreachable.
      await this.refreshGauges();
      if (this.slotCount === undefined) await this.setUpSlots();
      if (performance.now() >= this.manageAt) await this.manageSlots();
      await this.assignPartitions();
      if (this.leases.size === 0) {
        await this.idle(this.untilManage());
        continue;
      }
      const partitions = partitionsOfSlots(this.leases.keys(), this.slotCount!, await this.partitionCount());
      const pending = await this.outbox.next(BATCH, partitions);
      this.notified = false; // whatever was notified so far is in this read
      if (pending.length === 0) {
        await this.idle(Math.min(this.config.outboxPollMs, this.untilManage()));
        continue;
      }
      await this.publish(pending);
    }
  }

  private async setUpSlots(): Promise<void> {
    const wanted = this.config.relaySlots || (await this.partitionCount());
    this.slotCount = await this.slots.ensureSlots(wanted);
    if (this.slotCount !== wanted) {
      this.logger.warn({ wanted, slots: this.slotCount }, "relay slots were set up with another count; using the table's");
    }
    this.logger.info({ replica: this.replica, slots: this.slotCount }, 'relay started');
  }

  private untilManage(): number {
    return Math.max(10, this.manageAt - performance.now());
  }

  /**
   * Heartbeat, renew the leases held, then move towards the fair share: release the surplus
   * (the batch before this one is acknowledged or abandoned by now) or take free slots.
   */
  private async manageSlots(): Promise<void> {
    const slotCount = this.slotCount!;
    const started = performance.now();
    const live = await this.slots.heartbeat(this.replica, this.ttlMs);
    const renewed = await this.slots.renew(this.replica, this.ttlMs);
    const had = this.ownedSlots;
    this.leases.clear();
    for (const l of renewed) this.leases.set(l.slot, started + this.ttlMs);
    const lost = had.filter((s) => !this.leases.has(s));
    if (lost.length > 0) this.logger.warn({ replica: this.replica, lost }, 'relay slot leases ran out before renewal; another replica resends their events');

    const plan = rebalance(this.ownedSlots, fairShare(slotCount, live));
    if (plan.release.length > 0) {
      await this.slots.release(this.replica, plan.release);
      for (const s of plan.release) this.leases.delete(s);
      this.logger.info({ replica: this.replica, released: plan.release, live }, 'relay slots over the fair share released');
    }
    // Asked every round, even at a full share: slots left without an owner for half a lease are
    // rescued by whoever sees them first (a surplus is released again once the count is right).
    const at = performance.now();
    const taken = await this.slots.acquire(this.replica, plan.take, this.ttlMs, Math.floor(this.ttlMs / 2));
    for (const l of taken) this.leases.set(l.slot, at + this.ttlMs);
    if (taken.length > 0) this.logger.info({ replica: this.replica, taken: taken.map((l) => l.slot), live }, 'relay slots taken');
    this.metrics.relaySlotsOwned.set(this.leases.size);
    this.manageAt = started + Math.floor(this.ttlMs / 3);
  }

  /** Gives every slot up (others take them at once) and leaves the live replicas. */
  private async leave(): Promise<void> {
    const owned = this.ownedSlots;
    this.leases.clear();
    this.metrics.relaySlotsOwned.set(0);
    try {
      await this.slots.release(this.replica, owned);
      await this.slots.leave(this.replica);
      if (owned.length > 0) this.logger.info({ replica: this.replica, released: owned }, 'relay slots released on stop');
    } catch (err) {
      this.logger.warn({ err }, 'could not release relay slots on stop; their leases run out instead');
    }
  }

  /**
   * Sends each partition's share of the batch (partitions side by side), purging what each
   * acknowledged as it goes. A partition that fails stops alone; the failure is thrown once the
   * others are done, so only its unacknowledged events are sent again. A slot whose lease is
   * lost is dropped here: its events are the next owner's to send.
   */
  private async publish(pending: PendingEntry[]): Promise<void> {
    const readAt = performance.now();
    const byPartition = new Map<number, Outgoing[]>();
    const all: Outgoing[] = [];
    for (const e of pending) {
      const list = byPartition.get(e.partition) ?? [];
      const out = this.outgoing(e, e.partition, readAt);
      list.push(out);
      all.push(out);
      byPartition.set(e.partition, list);
    }
    try {
      const results = await Promise.allSettled([...byPartition].map(([partition, list]) => this.sendPartition(partition, list, new Map())));
      const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
      for (const f of failures) {
        if (f instanceof SlotLeaseLost) {
          this.leases.delete(f.slot);
          this.logger.warn({ replica: this.replica, slot: f.slot, reason: f.message }, 'relay slot given up mid-batch; its events stay for the next owner');
        }
      }
      const failed = failures.find((f) => !(f instanceof SlotLeaseLost));
      // Rethrown as it came: the caller classifies kafkajs and Postgres errors by their own class.
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      if (failed !== undefined) throw failed;
      if (failures.length > 0) this.manageAt = Number.NEGATIVE_INFINITY;
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
    const slot = slotOfPartition(partition, this.slotCount!);
    try {
      await this.sendWithinLease(slot, {
        topic: this.config.topics.courseEnrollments,
        acks: -1,
        messages: live.map((e) => keepTraceHeaders({ key: e.enrollmentId, value: e.value, partition, headers: { ...e.headers } })),
      });
    } catch (err) {
      if (err instanceof SlotLeaseLost) throw err;
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
    await this.acknowledged(slot, live);
  }

  /**
   * Sends only with more than the send budget left on the slot's lease, and gives up waiting
   * after the budget: past it, the lease may run out and another replica may resend these
   * events, so this one must not count on (or purge after) a late acknowledgement.
   */
  private async sendWithinLease(slot: number, record: Parameters<Producer['send']>[0]): Promise<void> {
    const budget = this.sendBudgetMs;
    const until = this.leases.get(slot);
    if (until === undefined) throw new SlotLeaseLost(slot, 'no longer held');
    if (until - performance.now() <= budget) throw new SlotLeaseLost(slot, 'lease too short to send; not renewed in time');
    const sent = (await this.connectedProducer()).send(record);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        sent,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new SlotLeaseLost(slot, `send not acknowledged within ${budget} ms; abandoned`)), budget);
        }),
      ]);
    } catch (err) {
      // The producer may still be sending the abandoned request: a new one is made for the next send.
      if (err instanceof SlotLeaseLost) {
        void sent.catch(() => undefined);
        this.dropProducer();
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The producer, connected once for the partitions sending side by side. */
  private connectedProducer(): Promise<Producer> {
    if (!this.producerReady) {
      const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      this.producer = producer;
      const ready = producer.connect().then(() => producer);
      this.producerReady = ready;
      void ready.catch(() => {
        if (this.producerReady === ready) this.dropProducer();
      });
    }
    return this.producerReady;
  }

  private async acknowledged(slot: number, sent: Outgoing[]): Promise<void> {
    const ackedAt = performance.now();
    if (
      !(await this.slots.purgeOwned(
        sent.map((e) => e.seq),
        slot,
        this.replica,
      ))
    ) {
      throw new SlotLeaseLost(slot, 'lease ran out before the acknowledged events were purged; the next owner sends them again');
    }
    this.metrics.relaySlotOutputs.inc({ slot: String(slot) }, sent.length);
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
    this.outputPartitions.update(count);
    return count;
  }

  /**
   * At most once a second: marks events the projection wrote behind a parked version as held,
   * and sets the parked gauge, the pending count and the oldest pending event's age, so they
   * move while the relay runs, whether or not anyone polls readiness. Not on every batch: the
   * pending count reads the whole backlog, which after a course-wide recompute is 100k rows.
   */
  private async refreshGauges(): Promise<void> {
    const now = performance.now();
    if (now - this.gaugesAt < GAUGES_EVERY_MS) return;
    this.gaugesAt = now;
    const held = await this.outbox.holdBehindParked();
    for (const h of held) {
      this.logger.warn({ enrollmentId: h.enrollmentId, versions: h.versions }, 'outbox events held behind a parked version of their key');
    }
    this.metrics.outboxParked.set(await this.outbox.parkedCount());
    const { count, oldestAgeSeconds } = await this.outbox.pendingStats();
    this.metrics.outboxPending.set(count);
    this.metrics.outboxOldestAgeSeconds.set(oldestAgeSeconds);
  }

  /**
   * Gives rows written without a partition (before the relay-slots migration, or by a tool that
   * does not know the partition count) the one their key maps to now; any replica may do it.
   */
  private async assignPartitions(): Promise<void> {
    const now = performance.now();
    if (now - this.assignAt < GAUGES_EVERY_MS) return;
    this.assignAt = now;
    const keys = await this.outbox.unassignedKeys(ASSIGN_BATCH);
    if (keys.length === 0) return;
    const count = await this.partitionCount();
    await this.outbox.assignPartitions(
      keys,
      keys.map((k) => partitionForKey(k, count)),
    );
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

  private dropProducer(): void {
    const producer = this.producer;
    this.producer = undefined;
    this.producerReady = undefined;
    void producer?.disconnect().catch(() => undefined);
  }

  private async teardown(): Promise<void> {
    const producer = this.producer;
    const admin = this.admin;
    this.producer = undefined;
    this.producerReady = undefined;
    this.admin = undefined;
    await producer?.disconnect().catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
  }
}

function endSpan(e: Outgoing, status: { code: SpanStatusCode; message?: string }): void {
  if (e.spanEnded) return;
  e.spanEnded = true;
  e.span.setStatus(status);
  e.span.end();
}
