import { Module } from '@nestjs/common';
import { ConfigModule } from '@app/config';
import { KafkaModule } from '@app/messaging';
import { LoggingModule, MetricsModule } from '@app/observability';
import { PersistenceModule } from '@app/persistence';
import { DependencyChecks } from './health/dependency-checks';
import { HealthController } from './health/health.controller';

@Module({
  imports: [ConfigModule, LoggingModule, MetricsModule, PersistenceModule, KafkaModule],
  controllers: [HealthController],
  providers: [DependencyChecks],
})
export class ReadApiModule {}
