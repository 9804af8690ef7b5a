import type { NodeSDK } from '@opentelemetry/sdk-node';
import { restoreTraceHeaders } from './pipeline-tracing';

/**
 * OpenTelemetry traces for the three apps, configured by the standard `OTEL_*` variables and off
 * unless one of them asks for an exporter: `OTEL_EXPORTER_OTLP_ENDPOINT`,
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_TRACES_EXPORTER` (not `none`). Off, nothing of the
 * SDK is loaded and the pipeline's spans are the API's no-ops (pipeline-tracing.ts), while the
 * trace context of input events is still carried to the output.
 *
 * It must start before the libraries it instruments (pg, kafkajs, http, ioredis) are loaded,
 * hence `tracing-preload.ts`, the first import of each app's main.ts. It is flushed and shut down
 * on SIGTERM after the drain (`TracingShutdown`, an application shutdown hook).
 *
 * Only traces: metrics stay with Prometheus (/metrics) and logs with pino, so the SDK's metrics
 * and logs exporters are off unless `OTEL_METRICS_EXPORTER` / `OTEL_LOGS_EXPORTER` say otherwise.
 */

let sdk: NodeSDK | undefined;

/** A slice applies up to INGEST_SLICE_SIZE events (default 500), each a link of its apply span. */
const DEFAULT_LINK_COUNT_LIMIT = 1000;

export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (exporters.includes('none')) return false;
  return exporters.length > 0 || !!env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || !!env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
}

/** The app's name from its entry point (`.../apps/<name>/...`), unless OTEL_SERVICE_NAME names it. */
function serviceName(): string {
  const entry = require.main?.filename ?? process.argv[1] ?? '';
  const app = /[\\/]apps[\\/]([^\\/]+)[\\/]/.exec(entry)?.[1];
  return app ? `enrollment-sync-${app}` : 'enrollment-sync';
}

/** Starts the SDK when the environment asks for it; idempotent. Returns whether tracing is on. */
export function startTracing(env: NodeJS.ProcessEnv = process.env): boolean {
  if (sdk) return true;
  if (!tracingRequested(env)) return false;
  env.OTEL_METRICS_EXPORTER ??= 'none';
  env.OTEL_LOGS_EXPORTER ??= 'none';
  env.OTEL_SPAN_LINK_COUNT_LIMIT ??= String(DEFAULT_LINK_COUNT_LIMIT);
  // Loaded only now: the SDK and its exporters cost startup time and memory when tracing is off.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
  const { PgInstrumentation } = require('@opentelemetry/instrumentation-pg') as typeof import('@opentelemetry/instrumentation-pg');
  const { KafkaJsInstrumentation } = require('@opentelemetry/instrumentation-kafkajs') as typeof import('@opentelemetry/instrumentation-kafkajs');
  const { IORedisInstrumentation } = require('@opentelemetry/instrumentation-ioredis') as typeof import('@opentelemetry/instrumentation-ioredis');
  /* eslint-enable @typescript-eslint/no-require-imports */
  sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME?.trim() || serviceName(),
    instrumentations: [
      new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => /^\/(health|metrics)/.test(req.url ?? '') }),
      // Queries inside a span only (apply, recompute, an HTTP request): the relay's polls and the
      // gauges' counts would otherwise start a trace of their own every second.
      new PgInstrumentation({ requireParentSpan: true }),
      // The relay sets each output event's own traceparent; the instrumentation would replace it.
      new KafkaJsInstrumentation({ producerHook: (_span, { message }) => restoreTraceHeaders(message) }),
      new IORedisInstrumentation(),
    ],
  });
  sdk.start();
  return true;
}

/** Flushes the spans still buffered and stops the SDK (no-op when tracing is off). */
export async function stopTracing(): Promise<void> {
  const running = sdk;
  sdk = undefined;
  await running?.shutdown().catch((err: unknown) => process.stderr.write(`tracing: shutdown failed: ${String(err)}\n`));
}
