/**
 * examples/downstream-consumer.ts, built and run as a program against the output topic of a real
 * pipeline run: it validates every event against docs/schemas, handles `deleted`, skips a
 * redelivery and detects a version gap, here injected by hand into the output topic (the service
 * itself never leaves one). Also checks that the output messages carry exactly the headers the
 * AsyncAPI document lists (OUTPUT_HEADERS), the optional trace headers only where sent.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildOutputEvent, encodeStructured, OUTPUT_HEADERS, STRUCTURED_CONTENT_TYPE } from '@app/contracts';
import { clock, events, InputMessage } from '@app/workload';
import type { Finding } from '../../examples/downstream-consumer';
import { eventually } from '../support/eventually';
import { CollectedOutput, Pipeline, startPipeline } from '../support/pipeline';

const EXAMPLE_DIST = join(__dirname, '..', '..', 'dist', 'examples', 'downstream-consumer.js');
const C = 3101;

/** Runs the built example until it has read the topic to its end; its findings, one per JSON line. */
function runExample(p: Pipeline): Promise<Finding[]> {
  if (!existsSync(EXAMPLE_DIST)) throw new Error(`${EXAMPLE_DIST} is missing: run npm run build first`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [EXAMPLE_DIST], {
      env: {
        PATH: process.env.PATH ?? '',
        KAFKA_BROKERS: p.config.kafka.brokers.join(','),
        TOPIC_COURSE_ENROLLMENTS: p.config.topics.courseEnrollments,
        GROUP_ID: `${p.config.kafka.groupId}-downstream-example`,
        EXIT_AT_END: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`downstream-consumer exited with ${code}: ${err}`));
      resolve(
        out
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l) as Finding),
      );
    });
  });
}

describe('the downstream consumer example on a real output topic', () => {
  let p: Pipeline;

  beforeAll(async () => {
    p = await startPipeline();
  }, 60_000);
  afterAll(async () => p?.stop(), 60_000);

  it('validates every event, applies them in version order, handles deleted, skips a redelivery and reports the injected gap', async () => {
    // Given a course with one lesson, three learners, progress, and learner 3 deleted
    const tick = clock('2026-11-02T09:00:00.000Z');
    let n = 0;
    const o = () => ({ time: tick(1000), id: `dc-${++n}`, source: '/e2e-downstream' });
    const users = [1, 2, 3];
    const msgs: InputMessage[] = [
      events.courseUpserted({ id: C, name: 'Consumers 101', slug: 'consumers-101' }, o()),
      events.sectionUpserted(C, { id: 31, name: 'Basics', position: 1 }, o()),
      events.lessonUpserted(C, { id: 311, section_id: 31, name: 'Offsets', status: 'published', position: 1 }, o()),
      events.lessonUpserted(C, { id: 312, section_id: 31, name: 'Keys', status: 'published', position: 2 }, o()),
      ...users.map((u) => events.userUpserted({ id: u, username: `reader${u}` }, o())),
      ...users.map((u) => events.membershipChanged({ course_id: C, user_id: u, join_status: 'joined' }, o())),
      events.lessonCompleted({ course_id: C, lesson_id: 311, user_id: 1 }, o()),
      events.lessonCompleted({ course_id: C, lesson_id: 312, user_id: 1 }, o()),
      events.lessonCompleted({ course_id: C, lesson_id: 311, user_id: 2 }, o()),
    ];
    await p.produce(msgs);
    await p.waitQuiet();
    await p.produce([events.userDeleted(3, o())]);
    await p.waitQuiet();
    // a copy: the collector goes on appending what is injected below
    const real = new Map<string, CollectedOutput[]>([...p.outputs].filter(([k]) => k.startsWith(`${C}:`)).map(([k, l]) => [k, [...l]]));
    expect([...real.keys()].sort()).toEqual(users.map((u) => `${C}:${u}`));
    const last = (key: string) => real.get(key)!.at(-1)!;
    expect(last(`${C}:3`).event.type).toBe('lms.course_enrollment.deleted');
    const realCount = [...real.values()].reduce((s, l) => s + l.length, 0);

    // ...and, by hand, a version that skips one (key 1), a redelivered first event (key 2) and a
    // message that is not an event (key 2), each on its key's partition
    const gapFrom = last(`${C}:1`);
    const gapVersion = gapFrom.event.data.version + 2;
    const gapEvent = buildOutputEvent({
      id: 'injected-gap',
      time: '2026-11-02T10:00:00.000Z',
      type: 'updated',
      version: gapVersion,
      changedFields: ['progress_percent'],
      cause: { job: 'e2e-injected-gap' },
      courseEnrollment: gapFrom.event.data.course_enrollment,
    });
    const first2 = real.get(`${C}:2`)![0];
    const headers = { 'content-type': STRUCTURED_CONTENT_TYPE };
    const producer = p.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      await producer.send({
        topic: p.config.topics.courseEnrollments,
        acks: -1,
        messages: [
          { key: `${C}:1`, partition: gapFrom.partition, value: encodeStructured(gapEvent), headers },
          { key: `${C}:2`, partition: first2.partition, value: encodeStructured(first2.event), headers },
          { key: `${C}:2`, partition: first2.partition, value: '{"specversion":"1.0","type":"lms.course_enrollment.updated"}', headers },
        ],
      });
    } finally {
      await producer.disconnect();
    }

    // When the example consumer reads the topic from the beginning to its end
    const findings = await runExample(p);

    // Then every real event validated and was applied (or deleted) in order, with no gap of the service's making
    const of = (kind: Finding['kind']) => findings.filter((f) => f.kind === kind);
    expect(of('gap')).toEqual([{ kind: 'gap', key: `${C}:1`, version: gapVersion, missing: { from: gapVersion - 1, to: gapVersion - 1 } }]);
    expect(of('duplicate')).toEqual([{ kind: 'duplicate', key: `${C}:2`, version: 1, lastApplied: last(`${C}:2`).event.data.version }]);
    expect(of('invalid')).toEqual([
      {
        kind: 'invalid',
        key: `${C}:2`,
        partition: first2.partition,
        offset: expect.any(String),
        errors: expect.arrayContaining([expect.stringMatching(/required property/)]),
      },
    ]);
    expect(of('deleted')).toEqual([{ kind: 'deleted', key: `${C}:3`, version: last(`${C}:3`).event.data.version }]);
    expect(of('applied').length + of('deleted').length).toBe(realCount + 1); // the real events and the injected one
    for (const key of real.keys()) {
      const versions = findings.filter((f) => (f.kind === 'applied' || f.kind === 'deleted') && f.key === key).map((f) => (f as { version: number }).version);
      const expected = real.get(key)!.map((o) => o.event.data.version);
      expect({ key, versions }).toEqual({ key, versions: key === `${C}:1` ? [...expected, gapVersion] : expected });
    }
  }, 180_000);

  it('the output messages carry exactly the headers docs/asyncapi.yaml lists', async () => {
    const seen = new Map<string, Set<string>>(); // header name -> values
    let count = 0;
    const consumer = p.kafka.consumer({ groupId: `${p.config.kafka.groupId}-headers` });
    await consumer.connect();
    await consumer.subscribe({ topic: p.config.topics.courseEnrollments, fromBeginning: true });
    // Everything on the topic: what the collector decoded, and what it could not (the injected non-event).
    const expected = [...p.outputs.values()].reduce((s, l) => s + l.length, 0) + p.badOutputs.length;
    try {
      await consumer.run({
        eachMessage: async ({ message }) => {
          count++;
          for (const [name, value] of Object.entries(message.headers ?? {})) {
            const values = seen.get(name) ?? new Set<string>();
            values.add(String(value));
            seen.set(name, values);
          }
        },
      });
      await eventually(async () => (count >= expected ? true : undefined), `${expected} output messages`, 60_000);
    } finally {
      await consumer.disconnect();
    }
    // The hand-injected messages above carry the documented content type too; every other is the relay's.
    // Every header is a documented one, and every header sent on all messages is there (the trace
    // headers only travel with an input that carried a trace context).
    const documented = OUTPUT_HEADERS.map((h) => h.name);
    expect([...seen.keys()].filter((name) => !documented.includes(name))).toEqual([]);
    for (const h of OUTPUT_HEADERS.filter((x) => !x.optional)) expect(seen.has(h.name)).toBe(true);
    for (const h of OUTPUT_HEADERS) if (h.schema.const !== undefined) expect([...seen.get(h.name)!]).toEqual([h.schema.const]);
  }, 120_000);
});
