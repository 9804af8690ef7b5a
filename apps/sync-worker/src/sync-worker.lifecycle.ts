import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '@app/config';
import { assertTopicsExist, DeadLetterPublisher } from '@app/messaging';
import { InputConsumer } from './ingestion/input-consumer';
import { OutboxRelay } from './outbox/outbox-relay';

/**
 * Owns the start and drain order of the worker: the relay starts first (it publishes what a
 * previous run left in the outbox), then the consumer. On SIGTERM the consumer stops first
 * (its batch in flight commits or is abandoned whole), then the relay publishes what is left,
 * and only then do the connection pools close (their own shutdown hooks run after this one).
 */
@Injectable()
export class SyncWorkerLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly kafka: Kafka,
    private readonly consumer: InputConsumer,
    private readonly relay: OutboxRelay,
    private readonly deadLetters: DeadLetterPublisher,
    private readonly logger: PinoLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await assertTopicsExist(this.kafka, this.config);
    this.relay.start();
    await this.consumer.start();
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.logger.info({ signal }, 'draining: stopping the consumer');
    await this.consumer.stop();
    this.logger.info('draining: flushing the outbox');
    await this.relay.stop();
    await this.deadLetters.close();
  }
}
