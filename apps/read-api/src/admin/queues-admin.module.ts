import { Inject, Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Application } from 'express';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { APP_CONFIG, AppConfig } from '@app/config';
import { QUEUES } from '@app/jobs';
import { AuthModule } from '../http/auth.module';
import { Authenticator } from '../http/authenticator';
import { AdminQueues } from './admin-queues';
import { QueueMetrics } from './queue-metrics';
import { queuesAuth } from './queues-auth';
import { sameOriginMutations } from './same-origin';
import { dropForeignLinksFromViews } from './self-contained-page';

export const QUEUES_BASE_PATH = '/admin/queues';

/**
 * Bull Board at /admin/queues behind the API tokens (changes only from its own origin, its page
 * loading nothing from another host), and the queue gauges on /metrics. Mounted on the Express
 * instance when the module initialises (after Nest's routes, before its 404 handler), so it is
 * there in main.ts and in apps built with Test.createTestingModule alike.
 */
@Module({
  imports: [AuthModule],
  providers: [AdminQueues, QueueMetrics],
  exports: [AdminQueues],
})
export class QueuesAdminModule implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly admin: AdminQueues,
    private readonly auth: Authenticator,
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
    // Bull Board is an Express app of its own, which would announce itself again.
    const board: Application = serverAdapter.getRouter();
    board.disable('x-powered-by');
    dropForeignLinksFromViews(board);
    httpAdapter.getInstance().use(QUEUES_BASE_PATH, queuesAuth(this.auth), sameOriginMutations(this.config.api.publicUrl), board);
  }
}
