import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '@app/config';
import { assertTopicsExist, DeadLetterPublisher } from '@app/messaging';
import { OutboxRelay } from './outbox/outbox-relay';
import { KafkaBatchTransport } from './transport/kafka-batch-transport';

/**
 * Owns the start and drain order of the worker. Start: the relay starts at bootstrap (it
 * publishes what a previous run left in the outbox); the transport starts consuming after that,
 * when the microservice listens. Drain: the transport closes first (no more fetches; the slice in
 * flight commits or is abandoned whole), then the relay publishes what is left, and only then
 * do the connection pools close (their own shutdown hooks run after this one).
 *
 * The transport is closed here rather than left to Nest: on a signal, NestApplicationContext
 * runs the before-shutdown hooks before it disposes of the microservice's transport, so
 * flushing the relay here while the transport still consumed would race the slice in flight.
 * `close()` is idempotent; Nest's own call later finds it done.
 */
@Injectable()
export class SyncWorkerLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly kafka: Kafka,
    private readonly transport: KafkaBatchTransport,
    private readonly relay: OutboxRelay,
    private readonly deadLetters: DeadLetterPublisher,
    private readonly logger: PinoLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await assertTopicsExist(this.kafka, this.config);
    const limit = await this.deadLetters.readTopicLimit(this.kafka);
    this.logger.info({ topic: this.config.topics.dlq, maxMessageBytes: limit }, 'dead letters are sent in requests under this size');
    this.relay.start();
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.logger.info({ signal }, 'draining: stopping the consumer');
    await this.transport.close();
    this.logger.info('draining: flushing the outbox');
    await this.relay.stop();
    await this.deadLetters.close();
  }
}
