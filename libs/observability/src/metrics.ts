import { Global, Inject, Module, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import { createServer, Server } from 'node:http';
import { collectDefaultMetrics } from 'prom-client';
import { MetricsRegistry } from './metrics-registry';
import { PipelineMetrics } from './pipeline-metrics';

export const METRICS_PORT = Symbol('METRICS_PORT');

/**
 * Serves this process's registry at /metrics on its own port. Workers have no HTTP server of
 * their own, and each process must be scraped for its own counters.
 */
export class MetricsEndpoint implements OnApplicationBootstrap, OnApplicationShutdown {
  private server?: Server;
  constructor(
    private readonly registry: MetricsRegistry,
    @Optional() @Inject(METRICS_PORT) private readonly port?: number,
  ) {}

  onApplicationBootstrap(): void {
    if (this.port === undefined) return;
    this.server = createServer((req, res) => {
      if (req.url === '/metrics') {
        this.registry.metrics().then((text) => {
          res.writeHead(200, { 'Content-Type': this.registry.contentType });
          res.end(text);
        }, (err: Error) => {
          res.writeHead(500);
          res.end(err.message);
        });
      } else if (req.url === '/health/live') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{"status":"ok"}');
      } else {
        res.writeHead(404);
        res.end();
      }
    }).listen(this.port, '0.0.0.0');
  }

  async onApplicationShutdown(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/**
 * A process's registry with Node's default metrics under their standard names
 * (`process_cpu_seconds_total`, `nodejs_heap_size_used_bytes`, …), so stock Node.js dashboards
 * and deploy/grafana work unchanged; the service's own metrics carry the `enrollment_sync_` prefix.
 */
export function createMetricsRegistry(): MetricsRegistry {
  const registry = new MetricsRegistry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

@Global()
@Module({
  providers: [
    { provide: MetricsRegistry, useFactory: createMetricsRegistry },
    PipelineMetrics,
  ],
  exports: [MetricsRegistry, PipelineMetrics],
})
export class MetricsModule {}
