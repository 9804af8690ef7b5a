import type { CourseEnrollment, CourseEnrollmentField } from '@app/domain';
import { COURSE_ENROLLMENT_FIELDS, ENROLLMENT_STATUSES, JOIN_STATUSES } from '@app/domain';
import { COURSE_PRIVACIES, COURSE_TYPES } from './input-events';
import { parseJsonValue } from './json';
import { arrayOf, boolean, Infer, integer, jsonObject, literal, named, nullable, number, object, oneOf, positiveId, required, Schema, string } from './schema';
import { CANONICAL_MILLIS_PATTERN, toCanonicalMillis } from './time';
import { ContractViolation, violation } from './violation';

/**
 * The output contract: `lms.course-enrollments.v1` carries one structured-mode CloudEvent per
 * material change of a CourseEnrollments object, keyed by its id (`"{course_id}:{user_id}"`).
 */

export const OUTPUT_SOURCE = '/enrollment-sync';
/** The kind of change an output event reports (short form; the CloudEvent `type` embeds it). */
export type OutputEventType = 'created' | 'updated' | 'deleted';
/** The CloudEvent `type` of output events. */
export type OutputCloudEventType = `lms.course_enrollment.${OutputEventType}`;
export const OUTPUT_EVENT_TYPES: readonly OutputCloudEventType[] = ['lms.course_enrollment.created', 'lms.course_enrollment.updated', 'lms.course_enrollment.deleted'];
export const outputCloudEventType = (type: OutputEventType | OutputCloudEventType): OutputCloudEventType =>
  type.startsWith('lms.') ? (type as OutputCloudEventType) : `lms.course_enrollment.${type as OutputEventType}`;

export { ENROLLMENT_STATUSES };

/** A generic CloudEvent as this service writes it in structured mode. */
export interface CloudEvent<D = unknown> {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  time: string;
  subject?: string;
  datacontenttype?: string;
  data: D;
}

export type Cause = { source: string; id: string; type: string } | { job: string };
export type OutputCause = Cause;

export interface CourseEnrollmentsEventData {
  version: number;
  changed_fields: CourseEnrollmentField[];
  cause: Cause;
  course_enrollment: CourseEnrollment;
}

export interface CourseEnrollmentsEvent extends CloudEvent<CourseEnrollmentsEventData> {
  source: typeof OUTPUT_SOURCE;
  type: OutputCloudEventType;
  subject: string;
  datacontenttype: 'application/json';
}

// ---------------------------------------------------------------------------------------------
// Schemas (validate consumers' view in tests, and generate the AsyncAPI document)

/** An enrollment id, `{course_id}:{user_id}`: the output key and the API's `{id}`. */
export const ENROLLMENT_ID_PATTERN = '^[1-9][0-9]*:[1-9][0-9]*$';
const ENROLLMENT_ID = new RegExp(ENROLLMENT_ID_PATTERN);
const publishedTime = string({
  pattern: new RegExp(CANONICAL_MILLIS_PATTERN),
  patternHint: 'RFC 3339 in UTC with milliseconds (2026-11-20T10:15:30.123Z)',
  format: 'date-time',
});
const decimalId = string({ pattern: /^[1-9][0-9]*$/, patternHint: 'a decimal id string' });

const enrollmentShape = {
  id: required(string({ pattern: ENROLLMENT_ID, patternHint: '"{course_id}:{user_id}"' })),
  user: required(
    object({
      id: required(decimalId),
      name: required(nullable(string()), 'real_name if non-empty, else username, else null.'),
      emails: required(arrayOf(object({ email: required(string()), type: required(string()), is_primary: required(boolean()) }))),
    }),
  ),
  course: required(object({ id: required(decimalId), title: required(nullable(string())) })),
  status: required(oneOf(ENROLLMENT_STATUSES)),
  assigned_at: required(nullable(publishedTime)),
  due_at: required(nullable(publishedTime)),
  enrolled_at: required(nullable(publishedTime)),
  started_at: required(nullable(publishedTime)),
  last_activity_at: required(nullable(publishedTime)),
  completed_at: required(nullable(publishedTime)),
  progress_percent: required(number({ min: 0, max: 100 }), 'Rounded to 2 decimals.'),
  time_spent_seconds: required(nullable(integer({ min: 0 }))),
  score: required(nullable(number({ min: 0, max: 100 }))),
  attempt_number: required(nullable(integer({ min: 1 }))),
  attempts_count: required(nullable(integer({ min: 1 }))),
  is_mandatory: required(boolean()),
  assigned_by: required(nullable(object({ id: required(decimalId), name: required(nullable(string())) }))),
  urls: required(arrayOf(object({ url: required(string()), type: required(literal('course')) }))),
  created_at: required(publishedTime, "Time of the enrollment's first membership fact."),
  updated_at: required(publishedTime, 'Wall-clock time of the last material change.'),
  custom_fields: required(jsonObject()),
  remote_data: required(
    object({
      course_id: required(positiveId()),
      user_id: required(positiveId()),
      join_status: required(nullable(oneOf(JOIN_STATUSES))),
      course_type: required(nullable(oneOf(COURSE_TYPES))),
      course_privacy: required(nullable(oneOf(COURSE_PRIVACIES))),
      num_lessons: required(integer({ min: 0 })),
      num_sections: required(integer({ min: 0 })),
      num_lessons_completed: required(integer({ min: 0 })),
      user_completion_rate: required(integer({ min: 0, max: 100 })),
    }),
  ),
};

export const courseEnrollmentSchema = named('CourseEnrollments', object(enrollmentShape, 'The unified LMS CourseEnrollments object (rules.md).'));

// The schema and the domain type must describe the same object, both ways.
type Parsed = Infer<typeof courseEnrollmentSchema>;
const _schemaCoversType: (x: Parsed) => CourseEnrollment = (x) => x;
const _typeCoversSchema: (x: CourseEnrollment) => Omit<Parsed, 'remote_data'> = (x) => x;
const _sameFields: [keyof CourseEnrollment] extends [keyof typeof enrollmentShape]
  ? [keyof typeof enrollmentShape] extends [keyof CourseEnrollment]
    ? true
    : false
  : false = true;
void _schemaCoversType;
void _typeCoversSchema;
void _sameFields;

const causeEventSchema = object(
  { source: required(string({ minLength: 1 })), id: required(string({ minLength: 1 })), type: required(string({ minLength: 1 })) },
  'The input event that produced the change.',
);
const causeJobSchema = object({ job: required(string({ minLength: 1 })) }, 'Work the service did by itself, e.g. `deadline-sweep`.');

export const causeSchema: Schema<Cause> = named('Cause', {
  parse(v, path) {
    if (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.hasOwn(v, 'job')) return causeJobSchema.parse(v, path);
    return causeEventSchema.parse(v, path);
  },
  json: (ctx) => ({ oneOf: [causeEventSchema.json(ctx), causeJobSchema.json(ctx)] }),
});

export const outputEventSchema: Schema<CourseEnrollmentsEvent> = named(
  'CourseEnrollmentsEvent',
  object({
    specversion: required(literal('1.0')),
    id: required(string({ minLength: 1, maxLength: 256 })),
    source: required(literal(OUTPUT_SOURCE)),
    type: required(oneOf(OUTPUT_EVENT_TYPES), 'created (first version), updated, or deleted (course or user deleted; last state).'),
    time: required(publishedTime),
    subject: required(string({ pattern: /^course-enrollments\/[1-9][0-9]*:[1-9][0-9]*$/, patternHint: '"course-enrollments/{id}"' })),
    datacontenttype: required(literal('application/json')),
    data: required(
      object({
        version: required(integer({ min: 1 }), 'Starts at 1 and grows by exactly 1 per event of the key.'),
        changed_fields: required(
          arrayOf(oneOf(COURSE_ENROLLMENT_FIELDS)),
          'Top-level fields that differ from the previous version (updated_at excluded); on created, every non-null field.',
        ),
        cause: required(causeSchema),
        course_enrollment: required(courseEnrollmentSchema),
      }),
    ),
  }),
);

// ---------------------------------------------------------------------------------------------
// Building and encoding

export interface OutputEventInput {
  /** Unique event id (e.g. a UUID); with the source it identifies the event. */
  id: string;
  /** When the change was made; normalised to UTC with milliseconds. */
  time: string | Date;
  /** `'created'`, `'updated'`, `'deleted'` (or the full CloudEvent type). */
  type: OutputEventType | OutputCloudEventType;
  version: number;
  changedFields: readonly CourseEnrollmentField[];
  cause: Cause;
  courseEnrollment: CourseEnrollment;
}

export function buildOutputEvent(input: OutputEventInput): CourseEnrollmentsEvent {
  const { id, version, changedFields, cause, courseEnrollment } = input;
  const type = outputCloudEventType(input.type);
  if (typeof id !== 'string' || id.length === 0 || id.length > 256) throw new Error('buildOutputEvent: id must be 1 to 256 characters');
  if (!Number.isSafeInteger(version) || version < 1) throw new Error(`buildOutputEvent: version must be an integer ≥ 1, got ${version}`);
  if (!OUTPUT_EVENT_TYPES.includes(type)) throw new Error(`buildOutputEvent: unknown type ${input.type}`);
  const time = input.time instanceof Date ? input.time.toISOString() : toCanonicalMillis(input.time);
  if (time === null) throw new Error(`buildOutputEvent: time must be RFC 3339 with a zone offset, got ${String(input.time)}`);
  return {
    specversion: '1.0',
    id,
    source: OUTPUT_SOURCE,
    type,
    time,
    subject: `course-enrollments/${courseEnrollment.id}`,
    datacontenttype: 'application/json',
    data: {
      version,
      changed_fields: [...changedFields],
      cause: 'job' in cause ? { job: cause.job } : { source: cause.source, id: cause.id, type: cause.type },
      course_enrollment: courseEnrollment,
    },
  };
}

/** The Kafka message value of a CloudEvent in structured mode (UTF-8 JSON). */
export function encodeStructured(event: CloudEvent): Buffer {
  return Buffer.from(JSON.stringify(event), 'utf8');
}

/** A CloudEvent in binary mode (Kafka protocol binding): attributes as `ce_` headers, value = data. */
export function encodeBinary(event: CloudEvent): { headers: Record<string, string>; value: Buffer } {
  const headers: Record<string, string> = {
    ce_specversion: event.specversion,
    ce_id: event.id,
    ce_source: event.source,
    ce_type: event.type,
    ce_time: event.time,
  };
  if (event.subject !== undefined) headers.ce_subject = event.subject;
  headers['content-type'] = event.datacontenttype ?? 'application/json';
  return { headers, value: Buffer.from(JSON.stringify(event.data), 'utf8') };
}

/** The message key of an output event: the enrollment id. */
export const outputKey = (event: CourseEnrollmentsEvent): string => event.data.course_enrollment.id;

/**
 * Reads an output message value back (for consumers and tests), checking it against the
 * contract; throws a `ContractViolation` naming the field otherwise.
 */
export function decodeOutputEvent(value: Buffer): CourseEnrollmentsEvent {
  const parsed = outputEventSchema.parse(parseJsonValue(value), '');
  const expected = `course-enrollments/${parsed.data.course_enrollment.id}`;
  if (parsed.subject !== expected) throw violation('subject', `must be ${JSON.stringify(expected)}`, parsed.subject);
  if (parsed.data.course_enrollment.id !== `${parsed.data.course_enrollment.remote_data.course_id}:${parsed.data.course_enrollment.remote_data.user_id}`) {
    throw new ContractViolation('data.course_enrollment.id must be "{remote_data.course_id}:{remote_data.user_id}"');
  }
  return parsed;
}

/** A documented example of the CourseEnrollments object (AsyncAPI document and tests). */
export const EXAMPLE_COURSE_ENROLLMENT: CourseEnrollment = {
  id: '42:7',
  user: { id: '7', name: 'Grace H.', emails: [{ email: 'g@example.com', type: 'work', is_primary: true }] },
  course: { id: '42', title: 'Kafka for Humans' },
  status: 'completed',
  assigned_at: null,
  due_at: '2026-12-31T23:59:59.000Z',
  enrolled_at: '2026-11-01T09:00:00.000Z',
  started_at: '2026-11-02T18:30:00.000Z',
  last_activity_at: '2026-11-20T10:15:30.123Z',
  completed_at: '2026-11-20T10:15:30.123Z',
  progress_percent: 100,
  time_spent_seconds: 5400,
  score: null,
  attempt_number: null,
  attempts_count: null,
  is_mandatory: true,
  assigned_by: null,
  urls: [{ url: 'https://community.example.com/courses/kafka-for-humans', type: 'course' }],
  created_at: '2026-11-01T09:00:00.000Z',
  updated_at: '2026-11-20T10:15:31.004Z',
  custom_fields: { cost_center: 'R&D' },
  remote_data: {
    course_id: 42,
    user_id: 7,
    join_status: 'joined',
    course_type: 'self-paced',
    course_privacy: 'open',
    num_lessons: 12,
    num_sections: 3,
    num_lessons_completed: 12,
    user_completion_rate: 100,
  },
};
