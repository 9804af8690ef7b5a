import { Inject, MiddlewareConsumer, Module, NestModule, OnModuleInit } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, HttpAdapterHost } from '@nestjs/core';
import { APP_CONFIG, AppConfig, ConfigModule } from '@app/config';
import { KafkaModule } from '@app/messaging';
import { LoggingModule, MetricsModule } from '@app/observability';
import { ReadPersistenceModule } from '@app/persistence';
import { QUEUES_BASE_PATH, QueuesAdminModule } from './admin/queues-admin.module';
import { CourseViewsController } from './community/course-views.controller';
import { DocsController } from './docs/docs.controller';
import { DependencyChecks } from './health/dependency-checks';
import { HealthController } from './health/health.controller';
import { BearerAuthGuard } from './http/auth.guard';
import { AuthModule } from './http/auth.module';
import { JsonErrorFilter } from './http/error.filter';
import { HttpMetrics, routeLabel } from './http/http-metrics';
import { securityHeaders } from './http/security-headers';
import { CourseEnrollmentsController } from './unified/course-enrollments.controller';

@Module({
  imports: [ConfigModule, LoggingModule.forRoot({ route: routeLabel }), MetricsModule, ReadPersistenceModule, KafkaModule, AuthModule, QueuesAdminModule],
  controllers: [HealthController, CourseEnrollmentsController, CourseViewsController, DocsController],
  providers: [DependencyChecks, HttpMetrics, { provide: APP_GUARD, useClass: BearerAuthGuard }, { provide: APP_FILTER, useClass: JsonErrorFilter }],
})
export class ReadApiModule implements NestModule, OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Security headers and the duration metric on every response: Nest's routes, Bull Board and 404s alike. */
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(securityHeaders(QUEUES_BASE_PATH), HttpMetrics).forRoutes('{*path}');
  }

  /**
   * Whom to believe about the client's address and scheme (`req.ip`, `req.protocol`): by default
   * only the peer, since X-Forwarded-For from anyone else is whatever the client wrote.
   */
  onModuleInit(): void {
    const express = this.adapterHost.httpAdapter?.getInstance();
    if (!express?.set) return;
    express.disable('x-powered-by');
    const trust = this.config.api.trustProxy;
    express.set('trust proxy', trust === '' ? false : /^\d+$/.test(trust) ? Number(trust) : trust);
  }
}
