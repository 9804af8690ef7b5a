import { Global, Inject, Module, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import { createServer, Server } from 'node:http';
import { PinoLogger } from 'nestjs-pino';
import { collectDefaultMetrics } from 'prom-client';
import { MetricsRegistry } from './metrics-registry';
import { PipelineMetrics } from './pipeline-metrics';

export const METRICS_PORT = Symbol('METRICS_PORT');

/** What a process says about itself on /health/ready: 200 when `ready`, else 503 with the reasons. */
export interface Readiness {
  ready: boolean;
  /** Why not ready, one line each ([] when ready). */
  reasons: string[];
  /** Anything else worth showing (figures the decision was based on). */
  details?: Record<string, unknown>;
}

export interface ReadinessCheck {
  check(): Promise<Readiness>;
}

/** Provide a ReadinessCheck under this token to give a process's /health/ready a meaning. */
export const READINESS_CHECK = Symbol('READINESS_CHECK');

/** A readiness check that takes longer than this answers 503 (a dependency that hangs is not ready). */
const READINESS_TIMEOUT_MS = 5000;

/**
 * Serves this process's registry at /metrics on its own port, with /health/live (the process
 * answers) and /health/ready (its READINESS_CHECK, if any, says it is making progress). Workers
 * have no HTTP server of their own, and each process must be scraped for its own counters.
 */
export class MetricsEndpoint implements OnApplicationBootstrap, OnApplicationShutdown {
  private server?: Server;
  constructor(
    private readonly registry: MetricsRegistry,
    @Optional() @Inject(METRICS_PORT) private readonly port?: number,
    @Optional() @Inject(READINESS_CHECK) private readonly readiness?: ReadinessCheck,
    @Optional() private readonly logger?: PinoLogger,
  ) {
    logger?.setContext(MetricsEndpoint.name);
  }

  /** The readiness check's verdict, bounded in time; a check that throws or hangs is a 503. */
  async ready(): Promise<Readiness> {
    if (!this.readiness) return { ready: true, reasons: [] };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Readiness>((resolve) => {
      timer = setTimeout(() => resolve({ ready: false, reasons: [`readiness check timed out after ${READINESS_TIMEOUT_MS} ms`] }), READINESS_TIMEOUT_MS);
    });
    try {
      return await Promise.race([
        this.readiness.check().catch((err: Error): Readiness => ({ ready: false, reasons: [`readiness check failed: ${err?.message ?? String(err)}`] })),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves once the port is bound, so `boundPort()` is known when the app has started. */
  async onApplicationBootstrap(): Promise<void> {
    if (this.port === undefined) return;
    const server = createServer((req, res) => {
      if (req.url === '/metrics') {
        this.registry.metrics().then(
          (text) => {
            res.writeHead(200, { 'Content-Type': this.registry.contentType });
            res.end(text);
          },
          (err: Error) => {
            res.writeHead(500);
            res.end(err.message);
          },
        );
      } else if (req.url === '/health/live') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{"status":"ok"}');
      } else if (req.url === '/health/ready') {
        void this.ready().then((r) => {
          res.writeHead(r.ready ? 200 : 503, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ status: r.ready ? 'ready' : 'not ready', reasons: r.reasons, ...r.details }));
        });
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '0.0.0.0', () => {
        server.off('error', reject);
        resolve();
      });
    });
    // With port 0 the OS picks one, and this line is the only place an operator can learn it.
    const port = this.boundPort();
    this.logger?.info({ port, requested_port: this.port }, `metrics and health on port ${port} (/metrics, /health/live, /health/ready)`);
  }

  /** The port actually bound (the configured one, or the one the OS chose for 0). */
  boundPort(): number | undefined {
    const address = this.server?.address();
    return address && typeof address === 'object' ? address.port : undefined;
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
  providers: [{ provide: MetricsRegistry, useFactory: createMetricsRegistry }, PipelineMetrics],
  exports: [MetricsRegistry, PipelineMetrics],
})
export class MetricsModule {}
