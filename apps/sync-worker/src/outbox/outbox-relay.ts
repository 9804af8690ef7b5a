import { Inject, Injectable } from '@nestjs/common';
import { Kafka, Producer } from 'kafkajs';
import { PinoLogger } from 'nestjs-pino';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/config';
import { OUTBOX_CHANNEL, OutboxRepository, PendingEntry, pgConnection } from '@app/persistence';
import { PipelineMetrics } from '@app/observability';

const BATCH = 2000;

/**
 * Publishes the outbox to the output topic in insertion order, then purges what the broker
 * acknowledged. One relay at a time holds a session advisory lock (per schema), so a key's
 * versions leave in order from a single idempotent producer; other instances stand by and
 * take over when that session ends. It wakes on NOTIFY at commit and polls as a fallback.
 */
@Injectable()
export class OutboxRelay {
  private running = false;
  private loop?: Promise<void>;
  private listener?: Client;
  private wake?: () => void;
  /** A NOTIFY that came while the relay was busy: the next idle returns at once. */
  private notified = false;
  private producer?: Producer;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly ds: DataSource,
    private readonly kafka: Kafka,
    private readonly outbox: OutboxRepository,
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

  /** Becomes the leader (or waits to), then publishes until stopped or the session breaks. */
  private async lead(): Promise<void> {
    const client = new Client({ ...pgConnection(this.config.database), application_name: 'enrollment-sync:relay' });
    this.listener = client;
    let broken: Error | undefined;
    client.on('error', (err) => {
      broken = err;
      this.nudge();
    });
    client.on('notification', () => this.nudge());
    await client.connect();
    const lockKey = `enrollment-sync:outbox-relay:${this.config.database.schema}`;
    for (;;) {
      const [{ locked }] = (await client.query('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked', [lockKey])).rows;
      if (locked) break;
      await this.idle(2000);
      if (!this.running) return;
    }
    await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await this.producer.connect();
    this.logger.info('relay leading');

    while (this.running) {
      if (broken) throw broken; // the lock went with the session: stop publishing at once
      const pending = await this.outbox.next(this.ds, BATCH);
      this.notified = false; // whatever was notified so far is in this read
      if (pending.length === 0) {
        this.metrics.outboxPending.set(0);
        await this.idle(this.config.outboxPollMs);
        continue;
      }
      await this.publish(pending);
      await this.outbox.purge(this.ds, pending.map((e) => e.seq));
      if (pending.length < BATCH) this.metrics.outboxPending.set(0);
    }
  }

  private async publish(pending: PendingEntry[]): Promise<void> {
    await this.producer!.send({
      topic: this.config.topics.courseEnrollments,
      acks: -1,
      messages: pending.map((e) => ({
        key: e.enrollmentId,
        value: JSON.stringify(e.event),
        headers: { 'content-type': 'application/cloudevents+json; charset=UTF-8' },
      })),
    });
    for (const e of pending) {
      const type = (e.event as { type: string }).type.replace('lms.course_enrollment.', '');
      this.metrics.outputEvents.inc({ type });
    }
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
    const listener = this.listener;
    this.producer = undefined;
    this.listener = undefined;
    await producer?.disconnect().catch(() => undefined);
    await listener?.end().catch(() => undefined); // ends the session: releases the advisory lock
  }
}

