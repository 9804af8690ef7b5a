import { Attributes, Context, Link, ROOT_CONTEXT, Span, SpanContext, SpanOptions, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import { formatTraceparent, parseTraceparent, TraceContext } from '@app/contracts';

/**
 * The pipeline's own spans (apply, publish, recompute) and the conversions between the W3C trace
 * context stored with events and OpenTelemetry span contexts. Only the API is used here: without
 * a registered SDK (tracing off, see tracing.ts) every span is a no-op, and a span started under a
 * stored context carries that context unchanged, so the output still continues the input's trace.
 */
export const PIPELINE_TRACER = 'enrollment-sync';

export const pipelineTracer = () => trace.getTracer(PIPELINE_TRACER);

/** The remote span context a stored trace context names, or undefined when it has none. */
export function spanContextOf(tc: TraceContext | null | undefined): SpanContext | undefined {
  const parsed = tc ? parseTraceparent(tc.traceparent) : undefined;
  if (!parsed) return undefined;
  // tracestate is passed on as text by the relay (we add no entry of our own), so it is not parsed here.
  return { traceId: parsed.traceId, spanId: parsed.spanId, traceFlags: parsed.flags & TraceFlags.SAMPLED, isRemote: true };
}

/** A context whose parent is the stored one (ROOT_CONTEXT when there is none: a new trace). */
export function contextOf(tc: TraceContext | null | undefined): Context {
  const sc = spanContextOf(tc);
  return sc ? trace.setSpanContext(ROOT_CONTEXT, sc) : ROOT_CONTEXT;
}

/**
 * One link per distinct trace context: a slice or a recompute serves many events, so its span
 * links to their traces instead of belonging to one of them.
 */
export function linksTo(contexts: Iterable<TraceContext | null | undefined>): Link[] {
  const seen = new Set<string>();
  const links: Link[] = [];
  for (const tc of contexts) {
    const sc = spanContextOf(tc);
    if (!sc || seen.has(sc.spanId + sc.traceId)) continue;
    seen.add(sc.spanId + sc.traceId);
    links.push({ context: sc });
  }
  return links;
}

/**
 * The context to send downstream for a span started under `stored`: the span's own when it is
 * recorded (a child in the same trace), else the stored one unchanged (tracing off or not
 * sampled: the trace still goes on). Null when there is neither.
 */
export function traceContextToSend(span: Span, stored: TraceContext | null | undefined): TraceContext | null {
  const sc = span.spanContext();
  if (trace.isSpanContextValid(sc) && span.isRecording()) {
    const sent: TraceContext = { traceparent: formatTraceparent({ traceId: sc.traceId, spanId: sc.spanId, flags: sc.traceFlags }) };
    if (stored?.tracestate) sent.tracestate = stored.tracestate;
    return sent;
  }
  return stored && parseTraceparent(stored.traceparent) ? stored : null;
}

const keptTraceHeaders = new WeakMap<object, Record<string, string>>();

/**
 * Marks a Kafka message whose `traceparent`/`tracestate` headers must go out as set. The kafkajs
 * instrumentation injects the context active at `send` into every message, which would replace
 * each event's own trace with the relay's; its producer hook (tracing.ts) puts these back.
 */
export function keepTraceHeaders<M extends { headers?: Record<string, unknown> }>(message: M): M {
  const kept: Record<string, string> = {};
  for (const name of ['traceparent', 'tracestate']) {
    const v = message.headers?.[name];
    if (typeof v === 'string') kept[name] = v;
  }
  keptTraceHeaders.set(message, kept);
  return message;
}

/** Restores what keepTraceHeaders kept, dropping an injected context the message did not have. */
export function restoreTraceHeaders(message: { headers?: Record<string, unknown> }): void {
  const kept = keptTraceHeaders.get(message);
  if (!kept || !message.headers) return;
  for (const name of ['traceparent', 'tracestate']) {
    if (name in kept) message.headers[name] = kept[name];
    else delete message.headers[name];
  }
}

/**
 * Runs `fn` in an active span of the pipeline's tracer: the attributes `done` derives from its
 * result are set on success, a failure is recorded on the span and rethrown, and the span ends.
 */
export function inPipelineSpan<T>(name: string, options: SpanOptions, fn: () => Promise<T>, done: (result: T) => Attributes): Promise<T> {
  return pipelineTracer().startActiveSpan(name, options, async (span) => {
    try {
      const result = await fn();
      span.setAttributes(done(result));
      return result;
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
      throw err;
    } finally {
      span.end();
    }
  });
}
