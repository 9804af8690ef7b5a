import { Controller, Get, Header, HttpCode, Res } from '@nestjs/common';
import type { Response } from 'express';
import { MetricsRegistry } from '@app/observability';
import { Public } from '../http/auth.guard';
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

  @Get('health/ready')
  async ready(@Res({ passthrough: true }) res: Response): Promise<object> {
    const [postgres, kafka, redis, consumers] = await Promise.all([
      this.checks.postgres(),
      this.checks.kafkaBroker(),
      this.checks.redisPing(),
      this.checks.consumers(),
    ]);
    const checks = { postgres, kafka, redis, consumers };
    const ok = Object.values(checks).every((c) => c.ok);
    res.status(ok ? 200 : 503);
    return { status: ok ? 'ok' : 'unavailable', checks };
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async metricsText(): Promise<string> {
    return this.metrics.metrics();
  }
}
