import { Controller, Get, Header, HttpCode, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { MetricsRegistry } from '@app/observability';
import { Public } from '../http/auth.guard';
import { MethodNotAllowedException, OtherMethods } from '../http/method-not-allowed';
import { DependencyChecks } from './dependency-checks';

/** Health and metrics stay reachable without a token (probes and scrapers). */
@Public()
@Controller()
export class HealthController {
  constructor(
    private readonly checks: DependencyChecks,
    private readonly metrics: MetricsRegistry,
  ) {}

  @Get('health/live')
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /**
   * Ready = Postgres answers, both the primary (DATABASE_URL, the write horizon) and the read
   * database (DATABASE_READ_URL, the lists and views; the same server when unset): every read is
   * served from Postgres alone. Redis (the queue
   * dashboard and queue gauges) and Kafka (only used to report on the workers) being away
   * degrades those, not the reads, so they are reported without affecting the status; so is the
   * sync worker's consumer group, since a worker rebalance must not take the API out of service.
   */
  @Get('health/ready')
  async ready(@Res({ passthrough: true }) res: Response): Promise<object> {
    const [postgres, postgresRead, kafka, redis, consumerGroup] = await Promise.all([
      this.checks.postgres(),
      this.checks.postgresRead(),
      this.checks.kafkaBroker(),
      this.checks.redisPing(),
      this.checks.consumerGroup(),
    ]);
    const checks = { postgres, postgres_read: postgresRead };
    const ok = postgres.ok && postgresRead.ok;
    res.status(ok ? 200 : 503);
    return { status: ok ? 'ok' : 'unavailable', checks, workers: { kafka, redis, consumer_group: consumerGroup } };
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async metricsText(): Promise<string> {
    return this.metrics.metrics();
  }

  @OtherMethods('health/live', 'health/ready', 'metrics')
  otherMethods(@Req() req: Request): never {
    throw new MethodNotAllowedException(req.method);
  }
}
