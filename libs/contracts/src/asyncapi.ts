import { DLQ_HEADERS, DLQ_HEADERS_DROPPED_HEADER, DLQ_TRUNCATED_HEADER, MAX_DLQ_REASON_CHARS } from './dead-letter';
import {
  BINARY_HEADERS,
  ENVELOPE_ATTRIBUTES,
  MAX_HEADER_BYTES,
  MAX_HEADERS,
  MAX_SOURCE_CHARS,
  MAX_VALUE_BYTES,
  STRUCTURED_CONTENT_TYPE,
  TopicNames,
  TRACE_HEADERS,
} from './envelope';
import { TRACEPARENT_HEADER, TRACEPARENT_SCHEMA, TRACESTATE_HEADER, TRACESTATE_SCHEMA } from './trace-context';
import { CUSTOM_FIELDS_LIMITS, INPUT_EVENTS, InputEventDefinition, InputTopic, MAX_CATEGORIES, MAX_EMAILS, TEXT_LIMITS } from './input-events';
import { MAX_JSON_DEPTH } from './json';
import { buildOutputEvent, ENROLLMENT_ID_PATTERN, EXAMPLE_COURSE_ENROLLMENT, outputEventSchema, OUTPUT_SOURCE } from './output-event';
import { cloudEventEnvelope } from './event-json-schemas';
import { JsonSchema, JsonSchemaContext } from './schema';

/**
 * The AsyncAPI 3.0 document of the service, built from the very schema objects that validate
 * messages (see `schema.ts`). `scripts/generate-asyncapi.ts` writes it to `docs/asyncapi.yaml`
 * and a unit test checks the committed file still equals it.
 */

export interface AsyncApiOptions {
  /** Topic names to publish as channel addresses (the defaults, normally). */
  topics: TopicNames & { courseEnrollments: string; dlq: string };
  partitions?: number;
  dlqPartitions?: number;
  /** Bootstrap brokers shown as the `kafka` server. */
  brokers?: string[];
}

export type AsyncApiDocument = Record<string, unknown>;

const KAFKA_BINDING_VERSION = '0.5.0';

/** Decisions where events.md is silent; published in the document's description. */
export const CONTRACT_DECISIONS: readonly string[] = [
  'Structured mode is detected unless the message has a `ce_`-prefixed header (binary mode); a `content-type` header starting with `application/cloudevents` forces structured mode and must be `application/cloudevents+json`.',
  'In binary mode the `content-type` header is the `datacontenttype`; when present it must be `application/json` (parameters such as charset allowed). A header repeated with different values is rejected.',
  'Any known input type is accepted on any input topic (the projection depends only on the set of facts, whatever the key, partition or topic); unknown types are dead-lettered.',
  '`time` accepts `T`/`t`, `Z`/`z` or `±HH:MM` (`-00:00` = UTC) and 1 to 9 fractional digits. It is stored as UTC with exactly 6 fractional digits, truncated; a leap second `:60` is pinned to `:59.999999`.',
  'Timestamps inside payloads (`due_at`, `access_expires_at`, course `created_at`) must be RFC 3339 with a zone offset and are normalised to UTC with milliseconds, truncated (`2026-12-31T23:59:59.000Z`).',
  'Every timestamp (`time` and those inside payloads) has a year from 0001 to 9999, also once converted to UTC, and a zone offset within ±14:00: what RFC 3339 and Postgres `timestamptz` both hold.',
  'No string anywhere in a message, object keys and fields the service ignores included, may contain a NUL character (U+0000) or a lone UTF-16 surrogate (such as the escape `\\ud800` without its pair); in binary mode neither may any `ce_` header. Postgres can store neither.',
  `\`data\` nests at most ${MAX_JSON_DEPTH} levels of objects and arrays (\`data\` itself is level 1, in both modes); a deeper value is rejected before it is parsed. Numbers must be finite: a JSON number beyond a double's range (\`1e400\`) is rejected, not stored as null.`,
  `Lengths count characters (code points): \`id\` at most 256 (events.md), \`source\` and \`subject\` ${MAX_SOURCE_CHARS}, \`datacontenttype\` 255; course, section, lesson and category names, meta and Open Graph titles and an actor's name ${TEXT_LIMITS.name}; a course's \`slug\` ${TEXT_LIMITS.slug}, \`description\` ${TEXT_LIMITS.description}, meta and Open Graph descriptions ${TEXT_LIMITS.summary}; image URLs and avatars ${TEXT_LIMITS.url}; an e-mail address ${TEXT_LIMITS.email} and its \`type\` ${TEXT_LIMITS.label}. A user has at most ${MAX_EMAILS} e-mails and a course at most ${MAX_CATEGORIES} categories. Each custom field's value takes at most ${CUSTOM_FIELDS_LIMITS.maxValueBytes / 1024} KiB as JSON and all custom fields together at most ${CUSTOM_FIELDS_LIMITS.maxBytes / 1024} KiB (UTF-8 bytes).`,
  'Unknown fields are ignored at every level. An optional field sent as `null` takes its default like an absent one.',
  '`lms.membership.changed`: `assignment: null` replaces the assignment with the empty one (null, null, false) and `custom_fields: null` replaces custom fields with `{}`; only an absent key leaves them unchanged.',
  'Section and lesson `position` may be any integer. A lesson needs `id`, `section_id`, `name`, `status` and `position`.',
  'Usernames allow Unicode letters (with combining marks), decimal digits, `-` and `_`; lengths count characters (code points).',
  'A message value is UTF-8 (a leading byte-order mark is tolerated) and at most 1 MiB (1048576 bytes); a null value (tombstone) is dead-lettered.',
  'An optional `subject` is not interpreted. `data_base64` is not supported.',
  'The CloudEvents distributed tracing extension is read from `traceparent`/`tracestate` (structured mode) or `ce_traceparent`/`ce_tracestate` (binary mode): a W3C traceparent that breaks its grammar (or a repeated header with different values) is ignored, never a reason to dead-letter the event; an invalid tracestate is dropped and the traceparent kept. The context of the input event that caused a change goes out on the CourseEnrollments event as the `traceparent`/`tracestate` headers (the same trace; a recompute carries the context of the event that requested it). A course-wide recompute or deadline sweep without such a cause starts a trace of its own when tracing is on, and sends no header when it is off.',
];

/** A Kafka header the relay sets on every output message. */
export interface OutputHeader {
  name: string;
  schema: JsonSchema;
  description: string;
  /** Sent only on some messages (the others are on every one). */
  optional?: boolean;
}

/**
 * The headers of every message on the output topic, as the relay sends them (CloudEvents Kafka
 * protocol binding, structured content mode: the attributes are in the value, not in `ce_`
 * headers). One entry per header: a header added to the relay is added here, and the e2e suite
 * checks the output topic carries exactly these.
 */
export const OUTPUT_HEADERS: readonly OutputHeader[] = [
  {
    name: 'content-type',
    schema: { type: 'string', const: STRUCTURED_CONTENT_TYPE },
    description:
      'Structured content mode of the CloudEvents Kafka protocol binding: the value is the whole CloudEvent as UTF-8 JSON (its `datacontenttype`, `application/json`, describes `data`).',
  },
  {
    name: TRACEPARENT_HEADER,
    schema: { type: 'string', pattern: '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$' },
    description:
      "W3C traceparent (CloudEvents distributed tracing extension, Kafka binding): the trace of the input event that caused the change (for a recompute, of the event that requested it). Its parent id is the service's publish span when tracing is on, the input's own otherwise. Absent when the cause had none and tracing is off.",
    optional: true,
  },
  {
    name: TRACESTATE_HEADER,
    schema: { type: 'string', maxLength: 512 },
    description: "The input event's tracestate, passed on unchanged; only beside a traceparent.",
    optional: true,
  },
];

const TOPIC_INFO: Record<InputTopic, { id: string; title: string; key: JsonSchema; env: string }> = {
  courses: {
    id: 'courses',
    title: 'Course structure',
    env: 'TOPIC_COURSES',
    key: { type: 'string', pattern: '^[1-9][0-9]*$', description: 'Recommended: the course id.' },
  },
  memberships: {
    id: 'memberships',
    title: 'Memberships',
    env: 'TOPIC_MEMBERSHIPS',
    key: { type: 'string', pattern: ENROLLMENT_ID_PATTERN, description: 'Recommended: "{course_id}:{user_id}".' },
  },
  lessonProgress: {
    id: 'lessonProgress',
    title: 'Lesson progress and grades',
    env: 'TOPIC_LESSON_PROGRESS',
    key: { type: 'string', pattern: ENROLLMENT_ID_PATTERN, description: 'Recommended: "{course_id}:{user_id}".' },
  },
  users: {
    id: 'users',
    title: 'User profiles',
    env: 'TOPIC_USERS',
    key: { type: 'string', pattern: '^[1-9][0-9]*$', description: 'Recommended: the user id.' },
  },
};

const ref = (path: string): JsonSchema => ({ $ref: path });
const schemaRef = (name: string): JsonSchema => ref(`#/components/schemas/${name}`);
const capitalise = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

export function buildAsyncApiDocument(opts: AsyncApiOptions): AsyncApiDocument {
  const schemas: Record<string, JsonSchema> = {};
  const ctx: JsonSchemaContext = {
    ref(name, build) {
      if (!Object.hasOwn(schemas, name)) {
        schemas[name] = {}; // reserve the slot first: keeps order stable and stops recursion
        schemas[name] = build();
      }
      return schemaRef(name);
    },
  };

  // The envelope, shared by every message.
  const A = ENVELOPE_ATTRIBUTES;
  cloudEventEnvelope(ctx);
  ctx.ref('CloudEventBinaryHeaders', () => ({
    type: 'object',
    description:
      'CloudEvents 1.0 binary mode (Kafka protocol binding): the attributes travel as headers and the message value holds `data` alone. Required when any `ce_` header is present.',
    properties: {
      [BINARY_HEADERS.specversion]: A.specversion.json(ctx),
      [BINARY_HEADERS.id]: A.id.json(ctx),
      [BINARY_HEADERS.source]: A.source.json(ctx),
      [BINARY_HEADERS.type]: A.type.json(ctx),
      [BINARY_HEADERS.time]: A.time.json(ctx),
      [BINARY_HEADERS.subject]: A.subject.json(ctx),
      'content-type': { ...A.datacontenttype.json(ctx), description: 'The datacontenttype; `application/json` when present.' },
      [TRACE_HEADERS.traceparent]: TRACEPARENT_SCHEMA,
      [TRACE_HEADERS.tracestate]: TRACESTATE_SCHEMA,
    },
  }));

  const messages: Record<string, unknown> = {};
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const partitions = opts.partitions ?? 6;

  for (const topic of Object.keys(TOPIC_INFO) as InputTopic[]) {
    const info = TOPIC_INFO[topic];
    const defs = (Object.values(INPUT_EVENTS) as InputEventDefinition<unknown>[]).filter((d) => d.topic === topic);
    const channelMessages: Record<string, unknown> = {};
    for (const def of defs) {
      messages[def.type] = inputMessage(def, info.key, ctx);
      channelMessages[def.type] = ref(`#/components/messages/${def.type}`);
    }
    channels[info.id] = {
      address: opts.topics[topic],
      title: info.title,
      description: `Input. Default name; configurable with \`${info.env}\`. Keys are recommendations: the service is correct whatever the key and partition, and accepts any known input type on any input topic. Batches may be compressed with any Kafka codec (gzip, snappy, lz4, zstd). A message carries at most ${MAX_HEADERS} headers and ${MAX_HEADER_BYTES} bytes of header names and values, and its \`time\` is at most MAX_FUTURE_SKEW_MS (default 5 minutes) ahead of the service's clock; beyond either it is dead-lettered.`,
      messages: channelMessages,
      bindings: { kafka: { partitions, bindingVersion: KAFKA_BINDING_VERSION } },
    };
    operations[`receive${capitalise(info.id)}`] = {
      action: 'receive',
      channel: ref(`#/channels/${info.id}`),
      summary: `The sync worker consumes ${info.title.toLowerCase()}.`,
      messages: defs.map((d) => ref(`#/channels/${info.id}/messages/${d.type}`)),
    };
  }

  // Output.
  const exampleEvent = buildOutputEvent({
    id: '0b7e0f3e-3c8a-4a8c-9a53-1b1a0b1b9d10',
    time: '2026-11-20T10:15:31.004Z',
    type: 'updated',
    version: 4,
    changedFields: ['status', 'progress_percent', 'last_activity_at', 'completed_at'],
    cause: { source: '/community', id: 'evt-9381', type: 'lms.lesson.completed' },
    courseEnrollment: EXAMPLE_COURSE_ENROLLMENT,
  });
  messages.courseEnrollmentsEvent = {
    name: 'CourseEnrollmentsEvent',
    title: 'CourseEnrollments changed',
    summary: 'The whole CourseEnrollments object after a material change.',
    description: `Structured-mode CloudEvent (CloudEvents Kafka protocol binding) from \`${OUTPUT_SOURCE}\`. \`version\` starts at 1 and grows by exactly 1 per key; events of one key go to one partition in version order. Published only on a material change (any field but \`updated_at\`); delivery is at least once.`,
    contentType: STRUCTURED_CONTENT_TYPE,
    headers: {
      type: 'object',
      description: 'Kafka headers of every output message.',
      properties: Object.fromEntries(OUTPUT_HEADERS.map((h) => [h.name, { ...h.schema, description: h.description }])),
      required: OUTPUT_HEADERS.filter((h) => !h.optional).map((h) => h.name),
    },
    payload: outputEventSchema.json(ctx),
    bindings: {
      kafka: {
        key: { type: 'string', pattern: ENROLLMENT_ID_PATTERN, description: 'The enrollment id, "{course_id}:{user_id}".' },
        bindingVersion: KAFKA_BINDING_VERSION,
      },
    },
    examples: [
      {
        name: 'updated',
        summary: 'A lesson completion completed the course.',
        headers: Object.fromEntries(OUTPUT_HEADERS.map((h) => [h.name, h.schema.const])),
        payload: exampleEvent,
      },
    ],
  };
  channels.courseEnrollments = {
    address: opts.topics.courseEnrollments,
    title: 'CourseEnrollments',
    description: 'Output. Default name; configurable with `TOPIC_COURSE_ENROLLMENTS`.',
    messages: { courseEnrollmentsEvent: ref('#/components/messages/courseEnrollmentsEvent') },
    bindings: { kafka: { partitions, bindingVersion: KAFKA_BINDING_VERSION } },
  };
  operations.sendCourseEnrollments = {
    action: 'send',
    channel: ref('#/channels/courseEnrollments'),
    summary: 'The service publishes every material change of a CourseEnrollments object.',
    messages: [ref('#/channels/courseEnrollments/messages/courseEnrollmentsEvent')],
  };

  // Dead letters.
  messages.deadLetter = {
    name: 'DeadLetter',
    title: 'Dead letter',
    summary: 'An input message that can never be applied, copied unchanged.',
    description: `Key, value and headers of the input message are copied byte for byte (not JSON, not a CloudEvent, an unknown type, data that breaks the contract, over 1 MiB, more than ${MAX_HEADERS} headers or ${MAX_HEADER_BYTES} bytes of headers, a \`time\` further ahead of the service's clock than MAX_FUTURE_SKEW_MS; or a message the store refused when applied alone), with five headers added. A copy too big for the topic is truncated to fit and marked, never dropped; a copy of a message over the header bounds keeps the headers that fit them, and says how many were dropped. A record batch that cannot be decompressed is one dead letter for its whole offset range: no key, the batch as read (a Kafka RecordBatch, magic 2) as its value, \`dlq_offset\` its first offset, and \`dlq_reason\` naming the range, its record count, codec and error. Transient failures are retried, never dead-lettered.`,
    headers: {
      type: 'object',
      description: 'The original headers, plus:',
      properties: {
        [DLQ_HEADERS.reason]: {
          type: 'string',
          maxLength: MAX_DLQ_REASON_CHARS,
          description: 'Human-readable error naming the offending field, e.g. `data.lesson.status must be "draft" or "published", got "live"`.',
        },
        [DLQ_HEADERS.stage]: {
          type: 'string',
          enum: ['decode', 'apply'],
          description:
            '`decode`: the message breaks the contract or cannot be decoded. `apply`: it passed the contract, but applying it failed alone in its own transaction (its slice was bisected to find it) with an error that is not a transient one; the reason holds that error.',
        },
        [DLQ_HEADERS.topic]: { type: 'string', description: 'Topic the message was read from.' },
        [DLQ_HEADERS.partition]: { type: 'string', pattern: '^[0-9]+$', description: 'Its partition, in decimal.' },
        [DLQ_HEADERS.offset]: { type: 'string', pattern: '^[0-9]+$', description: 'Its offset, in decimal.' },
        [DLQ_TRUNCATED_HEADER]: {
          type: 'string',
          pattern: '^[0-9]+$',
          description:
            "Only when the copy would exceed the dead-letter topic's `max.message.bytes`: the value was cut to fit (and if the key and headers alone did not fit, the original headers were dropped and the key cut too); this is the original value's size in bytes.",
        },
        [DLQ_HEADERS_DROPPED_HEADER]: {
          type: 'string',
          pattern: '^[0-9]+$',
          description: `Only on a copy of a message with more than ${MAX_HEADERS} headers or ${MAX_HEADER_BYTES} bytes of header names and values: the copy keeps the first headers that fit those bounds, and this is how many were dropped.`,
        },
      },
      required: Object.values(DLQ_HEADERS),
    },
    payload: { description: `The original value, unchanged: any bytes (possibly over ${MAX_VALUE_BYTES} bytes), or none.` },
    bindings: {
      kafka: { key: { description: 'The original key, unchanged.' }, bindingVersion: KAFKA_BINDING_VERSION },
    },
  };
  channels.deadLetters = {
    address: opts.topics.dlq,
    title: 'Dead letters',
    description: 'Output. Default name; configurable with `TOPIC_DLQ`.',
    messages: { deadLetter: ref('#/components/messages/deadLetter') },
    bindings: { kafka: { partitions: opts.dlqPartitions ?? 1, bindingVersion: KAFKA_BINDING_VERSION } },
  };
  operations.sendDeadLetters = {
    action: 'send',
    channel: ref('#/channels/deadLetters'),
    summary: 'The sync worker dead-letters input messages that can never be applied, and consumption goes on.',
    messages: [ref('#/channels/deadLetters/messages/deadLetter')],
  };

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Enrollment sync events',
      version: '1.0.0',
      description: [
        'Kafka in, CourseEnrollments events out. Every message on every topic, in and out, is a CloudEvents 1.0 event; the pair (`source`, `id`) identifies an event and a repeated pair is a duplicate. `time` is when the fact happened upstream and orders facts; arrival order does not matter.',
        '',
        'Generated by `scripts/generate-asyncapi.ts` from `libs/contracts`: do not edit by hand.',
        '',
        'Decisions where the wire contract (events.md) is silent:',
        '',
        ...CONTRACT_DECISIONS.map((d) => `- ${d}`),
      ].join('\n'),
    },
    defaultContentType: 'application/json',
    servers: {
      kafka: {
        host: (opts.brokers ?? ['127.0.0.1:9092']).join(','),
        protocol: 'kafka',
        description: 'Default bootstrap brokers; configurable with `KAFKA_BROKERS`.',
      },
    },
    channels,
    operations,
    components: { schemas, messages },
  };
}

function inputMessage(def: InputEventDefinition<unknown>, key: JsonSchema, ctx: JsonSchemaContext): Record<string, unknown> {
  const dataRef = def.data.json(ctx);
  const example = {
    specversion: '1.0',
    id: 'evt-9381',
    source: '/community',
    type: def.type,
    time: '2026-11-20T10:15:30.123456Z',
    datacontenttype: 'application/json',
    data: def.example,
  };
  return {
    name: def.type,
    title: def.type,
    summary: def.summary,
    contentType: 'application/json',
    headers: schemaRef('CloudEventBinaryHeaders'),
    payload: {
      oneOf: [
        {
          title: 'Structured mode',
          allOf: [schemaRef('CloudEvent'), { type: 'object', properties: { type: { const: def.type }, data: dataRef } }],
        },
        { title: 'Binary mode: the value is data alone', allOf: [dataRef] },
      ],
    },
    bindings: { kafka: { key, bindingVersion: KAFKA_BINDING_VERSION } },
    examples: [
      { name: 'structured', payload: example },
      {
        name: 'binary',
        headers: {
          [BINARY_HEADERS.specversion]: '1.0',
          [BINARY_HEADERS.id]: 'evt-9381',
          [BINARY_HEADERS.source]: '/community',
          [BINARY_HEADERS.type]: def.type,
          [BINARY_HEADERS.time]: '2026-11-20T11:15:30.123456+01:00',
          'content-type': 'application/json',
        },
        payload: def.example,
      },
    ],
  };
}
