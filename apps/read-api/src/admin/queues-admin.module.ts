import { Inject, Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { APP_CONFIG, AppConfig } from '@app/config';
import { QUEUES } from '@app/jobs';
import { BearerAuthGuard } from '../http/auth.guard';
import { AdminQueues } from './admin-queues';
import { QueueMetrics } from './queue-metrics';
import { queuesAuth } from './queues-auth';

export const QUEUES_BASE_PATH = '/admin/queues';

/**
 * Bull Board at /admin/queues behind the API tokens, and the queue gauges on /metrics. Mounted
 * on the Express instance when the module initialises (after Nest's routes, before its 404
 * handler), so it is there in main.ts and in apps built with Test.createTestingModule alike.
 */
@Module({
  providers: [AdminQueues, QueueMetrics],
  exports: [AdminQueues],
})
export class QueuesAdminModule implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly admin: AdminQueues,
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    const httpAdapter = this.adapterHost.httpAdapter;
    if (!httpAdapter) return; // an application context without HTTP: nothing to mount
    const serverAdapter = new ExpressAdapter();
    serverAdapter.setBasePath(QUEUES_BASE_PATH);
    createBullBoard({
      queues: [...this.admin.queues].map(([key, q]) => new BullMQAdapter(q, { displayName: QUEUES[key].displayName })),
      serverAdapter,
      options: { uiConfig: { boardTitle: 'enrollment-sync' } },
    });
    const guard = new BearerAuthGuard(this.config, this.reflector);
    httpAdapter.getInstance().use(QUEUES_BASE_PATH, queuesAuth((t) => guard.matches(t)), serverAdapter.getRouter());
  }
}
