import { BeforeApplicationShutdown, Injectable, Module, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigModule } from '@app/config';
import { DEAD_LETTER_PROVIDERS, KafkaModule } from '@app/messaging';
import { LoggingModule, MetricsModule } from '@app/observability';
import { PersistenceModule } from '@app/persistence';
import { ProjectionModule } from '@app/projection';
import { OutboxRelay } from '@app/sync-worker/outbox/outbox-relay';
import { StockInputEventsController } from './input-events.controller';

/** The relay publishes the outbox, as in the service, so both measure input to output event. */
@Injectable()
class RelayLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(private readonly relay: OutboxRelay) {}
  onApplicationBootstrap(): void {
    this.relay.start();
  }
  async beforeApplicationShutdown(): Promise<void> {
    await this.relay.stop();
  }
}

/** The stock-Nest baseline of the benchmark (bench/ only; never shipped in the apps). */
@Module({
  imports: [ConfigModule, LoggingModule.forRoot(), MetricsModule, PersistenceModule, KafkaModule, ProjectionModule],
  controllers: [StockInputEventsController],
  providers: [...DEAD_LETTER_PROVIDERS, OutboxRelay, RelayLifecycle],
})
export class StockNestModule {}
