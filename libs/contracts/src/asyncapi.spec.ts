import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { generateAsyncApiDocument, renderAsyncApiYaml, repositoryRoot } from '@app/scripts/generate-asyncapi';
import { buildAsyncApiDocument, CONTRACT_DECISIONS, OUTPUT_HEADERS } from './asyncapi';
import { decodeMessage } from './envelope';
import { INPUT_EVENT_TYPES, INPUT_EVENTS } from './input-events';
import { decodeOutputEvent, encodeStructured } from './output-event';
import { raw, TEST_TOPICS } from './testing/messages';

type Doc = Record<string, any>;
const DOC_PATH = join(repositoryRoot(__dirname), 'docs', 'asyncapi.yaml');
let cached: Doc | undefined;
const committed = (): Doc => (cached ??= parse(readFileSync(DOC_PATH, 'utf8')) as Doc);
const generated: Doc = generateAsyncApiDocument();

function resolvePointer(doc: Doc, ref: string): unknown {
  expect(ref.startsWith('#/')).toBe(true);
  return ref
    .slice(2)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<any>((node, key) => (node !== undefined && node !== null && Object.hasOwn(node, key) ? node[key] : undefined), doc);
}

function collectRefs(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => collectRefs(n, out));
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else collectRefs(v, out);
    }
  }
  return out;
}

describe('AsyncAPI document', () => {
  it('docs/asyncapi.yaml is exactly what the generator produces (regenerate it if this fails)', () => {
    expect(committed()).toEqual(generated);
  });

  it('the generator output parses back to the same document', () => {
    expect(parse(renderAsyncApiYaml(generated))).toEqual(generated);
  });

  it('is an AsyncAPI 3.0 document with the default topics as channel addresses', () => {
    const doc = committed();
    expect(doc.asyncapi).toBe('3.0.0');
    expect(doc.info.title).toEqual(expect.any(String));
    const addresses = Object.fromEntries(Object.entries(doc.channels as Doc).map(([id, c]) => [id, c.address]));
    expect(addresses).toEqual({
      courses: 'lms.courses.v1',
      memberships: 'lms.memberships.v1',
      lessonProgress: 'lms.lesson-progress.v1',
      users: 'lms.users.v1',
      courseEnrollments: 'lms.course-enrollments.v1',
      deadLetters: 'lms.enrollment-sync.dlq.v1',
    });
  });

  it.each(INPUT_EVENT_TYPES)('describes the input type %s: message, channel, operation, data schema', (type) => {
    const doc = committed();
    const message = doc.components.messages[type];
    expect(message.name).toBe(type);
    const channelId = INPUT_EVENTS[type].topic;
    expect(doc.channels[channelId].messages[type]).toEqual({ $ref: `#/components/messages/${type}` });
    const operation = Object.values(doc.operations as Doc).find((o) => o.channel.$ref === `#/channels/${channelId}`);
    expect(operation.action).toBe('receive');
    expect(operation.messages).toContainEqual({ $ref: `#/channels/${channelId}/messages/${type}` });
    const structured = message.payload.oneOf[0].allOf[1].properties;
    expect(structured.type).toEqual({ const: type });
    expect(resolvePointer(doc, structured.data.$ref)).toMatchObject({ type: 'object' });
    expect(message.bindings.kafka.key.type).toBe('string');
  });

  it('every $ref resolves', () => {
    const doc = committed();
    const refs = collectRefs(doc);
    expect(refs.length).toBeGreaterThan(50);
    for (const ref of refs) expect([ref, resolvePointer(doc, ref)]).toEqual([ref, expect.anything()]);
  });

  it('describes the envelope with its required attributes and the binary-mode headers', () => {
    const { schemas } = committed().components;
    expect(schemas.CloudEvent.required).toEqual(['specversion', 'id', 'source', 'type', 'time', 'data']);
    expect(schemas.CloudEvent.properties.id).toMatchObject({ minLength: 1, maxLength: 256 });
    expect(schemas.CloudEvent.properties.source).toMatchObject({ format: 'uri-reference' });
    expect(Object.keys(schemas.CloudEventBinaryHeaders.properties)).toEqual(
      expect.arrayContaining(['ce_specversion', 'ce_id', 'ce_source', 'ce_type', 'ce_time', 'content-type']),
    );
  });

  it('publishes the payload rules from the validators (required fields, enums, defaults)', () => {
    const { schemas } = committed().components;
    expect(schemas.Lesson.required).toEqual(['id', 'section_id', 'name', 'status', 'position']);
    expect(schemas.Lesson.properties.status.enum).toEqual(['draft', 'published']);
    expect(schemas.Course.properties.privacy.default).toBe('');
    expect(schemas.Course.properties.categories.default).toEqual([]);
    expect(schemas.LmsMembershipChangedData.required).toEqual(['course_id', 'user_id', 'join_status']);
    expect(schemas.LmsCourseGradedData.properties.score).toMatchObject({ minimum: 0, maximum: 100 });
    expect(schemas.User.properties.username).toMatchObject({ maxLength: 255, pattern: '^[\\p{L}\\p{M}\\p{Nd}_-]+$' });
  });

  it('describes the output event and the dead-letter topic with its headers', () => {
    const doc = committed();
    expect(doc.operations.sendCourseEnrollments.action).toBe('send');
    expect(doc.components.schemas.CourseEnrollmentsEvent.properties.type.enum).toEqual([
      'lms.course_enrollment.created',
      'lms.course_enrollment.updated',
      'lms.course_enrollment.deleted',
    ]);
    const dlq = doc.components.messages.deadLetter;
    expect(dlq.headers.required).toEqual(['dlq_reason', 'dlq_stage', 'dlq_topic', 'dlq_partition', 'dlq_offset']);
    expect(dlq.headers.properties.dlq_stage.enum).toEqual(['decode', 'apply']);
    expect(dlq.headers.properties.dlq_truncated).toBeDefined(); // only on a letter cut to fit, so not required
    expect(doc.operations.sendDeadLetters.channel).toEqual({ $ref: '#/channels/deadLetters' });
  });

  it('describes the output as the relay sends it: structured-mode content type and the header list', () => {
    const message = committed().components.messages.courseEnrollmentsEvent;
    expect(message.contentType).toBe('application/cloudevents+json; charset=UTF-8');
    expect(Object.keys(message.headers.properties)).toEqual(OUTPUT_HEADERS.map((h) => h.name));
    expect(message.headers.required).toEqual(OUTPUT_HEADERS.filter((h) => !h.optional).map((h) => h.name));
    expect(message.headers.properties['content-type'].const).toBe(message.contentType);
    expect(message.examples[0].headers).toEqual({ 'content-type': message.contentType });
  });

  it('documents every contract decision', () => {
    const description: string = committed().info.description;
    for (const decision of CONTRACT_DECISIONS) expect(description).toContain(decision);
  });

  it('its examples are accepted by the decoders, binary and structured alike', () => {
    const doc = committed();
    for (const type of INPUT_EVENT_TYPES) {
      const [structured, binary] = doc.components.messages[type].examples;
      const s = decodeMessage(raw(JSON.stringify(structured.payload)), TEST_TOPICS);
      const b = decodeMessage(raw(JSON.stringify(binary.payload), binary.headers), TEST_TOPICS);
      expect([type, s.ok && s.event.mode, b.ok && b.event.mode]).toEqual([type, 'structured', 'binary']);
      if (s.ok && b.ok) expect(b.event.fact).toStrictEqual(s.event.fact);
    }
    const [output] = doc.components.messages.courseEnrollmentsEvent.examples;
    expect(decodeOutputEvent(encodeStructured(output.payload)).data.version).toBe(4);
  });

  it('follows configured topic names', () => {
    const doc: Doc = buildAsyncApiDocument({ topics: { ...TEST_TOPICS, users: 'acme.users', courseEnrollments: 'out', dlq: 'dlq' } });
    expect(doc.channels.users.address).toBe('acme.users');
    expect(doc.channels.deadLetters.address).toBe('dlq');
  });
});
