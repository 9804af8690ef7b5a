import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { ConfigModule } from '@app/config';
import { KafkaModule } from '@app/messaging';
import { LoggingModule, MetricsModule } from '@app/observability';
import { PersistenceModule } from '@app/persistence';
import { QueuesAdminModule } from './admin/queues-admin.module';
import { CourseViewsController } from './community/course-views.controller';
import { DocsController } from './docs/docs.controller';
import { DependencyChecks } from './health/dependency-checks';
import { HealthController } from './health/health.controller';
import { BearerAuthGuard } from './http/auth.guard';
import { JsonErrorFilter } from './http/error.filter';
import { CourseEnrollmentsController } from './unified/course-enrollments.controller';

@Module({
  imports: [ConfigModule, LoggingModule, MetricsModule, PersistenceModule, KafkaModule, QueuesAdminModule],
  controllers: [HealthController, CourseEnrollmentsController, CourseViewsController, DocsController],
  providers: [
    DependencyChecks,
    { provide: APP_GUARD, useClass: BearerAuthGuard },
    { provide: APP_FILTER, useClass: JsonErrorFilter },
  ],
})
export class ReadApiModule {}
