/**
 * Traces across the pipeline, on the real Kafka and Postgres: the W3C trace context of an input
 * event (CloudEvents distributed tracing extension, structured or binary mode) is stored with the
 * outbox row its change wrote and comes out as the output event's `traceparent` header; the
 * apply span links to it and the publish span belongs to its trace. Spans go to an in-memory
 * exporter registered as the global tracer provider (what tracing.ts does with an OTLP exporter).
 */
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { clock, events, InputMessage } from '@app/workload';
import { Pipeline, RawInput, startPipeline } from '../support/pipeline';

const TRACE_A = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_A = '00f067aa0ba902b7';
const TRACE_B = '0af7651916cd43dd8448eb211c80319c';
const SPAN_B = 'b7ad6b7169203331';
const TRACE_C = '5e1d0f4a6a2b4c3d8e9f0a1b2c3d4e5f';
const SPAN_C = '1a2b3c4d5e6f7a8b';
const traceparent = (traceId: string, spanId: string) => `00-${traceId}-${spanId}-01`;
const traceIdOf = (header: string | undefined) => header?.split('-')[1];

/** The builder's structured CloudEvent with extension attributes added. */
function withAttributes(m: InputMessage, attrs: Record<string, unknown>): RawInput {
  return { ...m, value: JSON.stringify({ ...JSON.parse(m.value), ...attrs }) };
}

/** The same CloudEvent in binary mode: attributes as `ce_` headers, the value holds `data`. */
function asBinary(m: InputMessage, headers: Record<string, string>): RawInput {
  const { data, datacontenttype: _dct, ...attrs } = JSON.parse(m.value) as Record<string, unknown>;
  const ce: Record<string, string> = { 'content-type': 'application/json' };
  for (const [k, v] of Object.entries(attrs)) ce[`ce_${k}`] = String(v);
  return { topic: m.topic, key: m.key, value: JSON.stringify(data), headers: { ...ce, ...headers } };
}

describe('trace context from input to output', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  let p: Pipeline;
  const C = 7001;
  const tick = clock('2026-11-01T09:00:00.000Z');
  let n = 0;
  const o = () => ({ time: tick(1000), id: `tc-${++n}`, source: '/trace-e2e' });

  const latest = (id: string) => {
    const list = p.outputs.get(id) ?? [];
    return list[list.length - 1];
  };
  const spans = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === name);
  const publishName = () => `publish ${p.config.topics.courseEnrollments}`;

  beforeAll(async () => {
    trace.setGlobalTracerProvider(provider);
    // Inline recompute: the library's CourseRecompute, without Redis.
    p = await startPipeline({ recompute: 'inline' });
    await p.produce([
      events.courseUpserted({ id: C, name: 'Tracing 101', slug: 'tracing-101', privacy: 'open' }, o()),
      ...[1, 2, 3].map((u) => events.userUpserted({ id: 800 + u, username: `tracer${u}`, real_name: `Tracer ${u}` }, o())),
    ]);
    await p.waitQuiet();
  }, 120_000);
  afterAll(async () => {
    await p?.stop();
    trace.disable();
    await provider.shutdown();
  }, 60_000);

  it("puts a structured-mode input's trace id on its output event's traceparent header and on the apply and publish spans", async () => {
    // Given a membership carrying a traceparent attribute (structured mode)
    exporter.reset();
    await p.produce([
      withAttributes(events.membershipChanged({ course_id: C, user_id: 801, join_status: 'joined' }, o()), {
        traceparent: traceparent(TRACE_A, SPAN_A),
        tracestate: 'vendor=abc',
      }),
    ]);
    // When it has gone through the pipeline
    await p.waitQuiet();

    // Then its output event continues the input's trace
    const out = latest(`${C}:801`);
    expect(out?.event.type).toBe('lms.course_enrollment.created');
    expect(traceIdOf(out.headers.traceparent)).toBe(TRACE_A);
    expect(out.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(out.headers.tracestate).toBe('vendor=abc');
    // the apply span links to the input's context
    const apply = spans('apply').filter((s) => s.links.some((l) => l.context.traceId === TRACE_A));
    expect(apply.map((s) => s.links.find((l) => l.context.traceId === TRACE_A)!.context.spanId)).toEqual([SPAN_A]);
    // and the publish span is the input span's child, the one the header names
    const publish = spans(publishName()).filter((s) => s.spanContext().traceId === TRACE_A);
    expect(publish).toHaveLength(1);
    expect(publish[0].parentSpanContext?.spanId).toBe(SPAN_A);
    expect(publish[0].attributes['messaging.kafka.message.key']).toBe(`${C}:801`);
    expect(out.headers.traceparent).toBe(`00-${TRACE_A}-${publish[0].spanContext().spanId}-01`);
  }, 120_000);

  it('reads ce_traceparent in binary mode, and ignores a malformed traceparent without refusing the event', async () => {
    // Given a binary-mode membership with ce_traceparent, and one whose traceparent is malformed
    exporter.reset();
    await p.produce([
      asBinary(events.membershipChanged({ course_id: C, user_id: 802, join_status: 'joined' }, o()), {
        ce_traceparent: traceparent(TRACE_B, SPAN_B),
      }),
      withAttributes(events.membershipChanged({ course_id: C, user_id: 803, join_status: 'joined' }, o()), {
        traceparent: `00-${'0'.repeat(32)}-${SPAN_B}-01`,
      }),
    ]);
    await p.waitQuiet();

    // Then the binary one's output continues its trace
    expect(traceIdOf(latest(`${C}:802`)?.headers.traceparent)).toBe(TRACE_B);
    expect(spans(publishName()).filter((s) => s.spanContext().traceId === TRACE_B)).toHaveLength(1);
    // and the malformed one is applied and published (in a trace of its own), not dead-lettered
    expect(latest(`${C}:803`)?.event.type).toBe('lms.course_enrollment.created');
    expect(traceIdOf(latest(`${C}:803`).headers.traceparent)).not.toBe('0'.repeat(32));
    expect(p.deadLetters).toEqual([]);
  }, 120_000);

  it('carries the context of a course change through its recompute request to every enrollment it republishes', async () => {
    // Given a course rename carrying a traceparent (a course-wide recompute)
    exporter.reset();
    await p.produce([
      withAttributes(events.courseUpserted({ id: C, name: 'Tracing 102', slug: 'tracing-101', privacy: 'open' }, o()), {
        traceparent: traceparent(TRACE_C, SPAN_C),
      }),
    ]);
    await p.waitQuiet();

    // Then every enrollment republished by the recompute continues the rename's trace
    for (const u of [801, 802, 803]) {
      const out = latest(`${C}:${u}`);
      expect(out?.event.type).toBe('lms.course_enrollment.updated');
      expect(traceIdOf(out.headers.traceparent)).toBe(TRACE_C);
    }
    // and the recompute span links to it
    const recompute = spans('recompute course').filter((s) => s.links.some((l) => l.context.traceId === TRACE_C));
    expect(recompute.length).toBeGreaterThan(0);
    expect(spans(publishName()).filter((s) => s.spanContext().traceId === TRACE_C)).toHaveLength(3);
  }, 120_000);
});

describe('trace context with the OpenTelemetry SDK on (built worker, kafkajs instrumentation active)', () => {
  let p: Pipeline;

  beforeAll(async () => {
    p = await startPipeline({ startWorker: false, recompute: 'inline' });
  }, 120_000);
  afterAll(async () => {
    await p?.killWorker('SIGTERM');
    await p?.stop();
  }, 60_000);

  it("keeps each output event's own traceparent although the instrumentation injects the context active at send", async () => {
    // Given the built sync worker with tracing on (console exporter: no collector needed)
    const saved = process.env.OTEL_TRACES_EXPORTER;
    process.env.OTEL_TRACES_EXPORTER = 'console';
    try {
      p.spawnWorker();
    } finally {
      if (saved === undefined) delete process.env.OTEL_TRACES_EXPORTER;
      else process.env.OTEL_TRACES_EXPORTER = saved;
    }
    const tick = clock('2026-11-02T09:00:00.000Z');
    let n = 0;
    const o = () => ({ time: tick(1000), id: `sdk-${++n}`, source: '/trace-sdk' });
    // When two memberships of different traces go through (one relay batch)
    await p.produce([
      events.courseUpserted({ id: 9001, name: 'SDK', slug: 'sdk', privacy: 'open' }, o()),
      events.userUpserted({ id: 901, username: 'sdk1' }, o()),
      events.userUpserted({ id: 902, username: 'sdk2' }, o()),
    ]);
    await p.waitQuiet({ timeoutMs: 60_000 });
    await p.produce([
      withAttributes(events.membershipChanged({ course_id: 9001, user_id: 901, join_status: 'joined' }, o()), { traceparent: traceparent(TRACE_A, SPAN_A) }),
      withAttributes(events.membershipChanged({ course_id: 9001, user_id: 902, join_status: 'joined' }, o()), { traceparent: traceparent(TRACE_B, SPAN_B) }),
    ]);
    await p.waitQuiet({ timeoutMs: 60_000 });

    // Then each output continues its own input's trace, through a recorded publish span of the worker
    const header = (id: string) => p.outputs.get(id)?.at(-1)?.headers.traceparent;
    expect(traceIdOf(header('9001:901'))).toBe(TRACE_A);
    expect(traceIdOf(header('9001:902'))).toBe(TRACE_B);
    expect(header('9001:901')?.split('-')[2]).not.toBe(SPAN_A);
    expect(p.workerLog.join('\n')).toContain("traceId: '");
  }, 180_000);
});
