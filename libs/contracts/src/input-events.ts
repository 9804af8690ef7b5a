import type { Fact, FactMeta } from '@app/domain';
import { JOIN_STATUSES } from '@app/domain';
import {
  arrayOf,
  boolean,
  integer,
  jsonObject,
  maybe,
  named,
  nullable,
  nullAsEmpty,
  number,
  object,
  oneOf,
  optional,
  positiveId,
  required,
  Schema,
  string,
  timestamp,
} from './schema';

/**
 * The payload (`data`) of every input event type of events.md, as schema objects that both
 * validate messages and generate the AsyncAPI document, with the mapping to a domain `Fact`.
 *
 * Decisions where events.md is silent (also listed in the AsyncAPI document):
 * - Unknown extra fields are ignored, at every level (forward compatibility).
 * - An optional field sent as `null` takes its default, exactly like an absent one.
 * - `membership.changed`: `assignment: null` and `custom_fields: null` are *present*: they
 *   replace the enrollment's assignment with the empty one (null, null, false) and its custom
 *   fields with `{}`. Only an absent key leaves them unchanged.
 * - Timestamps inside payloads (`due_at`, `access_expires_at`, a course's `created_at`) must be
 *   RFC 3339 with a zone offset and are normalised to UTC with milliseconds, truncated
 *   (`2026-12-31T23:59:59.000Z`), the form rules.md publishes.
 * - Section and lesson `position` are any safe integer (negative and zero allowed): they only
 *   order siblings. A lesson's `name` and `position` are required like a section's.
 * - Usernames (a user's and a course's `created_by`) allow Unicode letters (with their
 *   combining marks), decimal digits, `-` and `_`; lengths count characters (code points).
 * - An e-mail entry needs a non-empty `email`; `type` defaults to "" and `is_primary` to false.
 * - Every free string the service stores is bounded (`TEXT_LIMITS`), as are the lists copied
 *   into each enrollment (a user's e-mails) and custom fields (`CUSTOM_FIELDS_LIMITS`): a fact
 *   is stored once but a user's or course's data is copied into every enrollment derived from
 *   it, so an unbounded field is a cheap way to fill the database and the output topic.
 */

export const COURSE_TYPES = ['self-paced', 'structured', 'scheduled'] as const;
export const COURSE_PRIVACIES = ['', 'open', 'private', 'secret'] as const;
export const LESSON_TYPES = ['lesson', 'quiz'] as const;
export const LESSON_STATUSES = ['draft', 'published'] as const;

export const USERNAME_PATTERN = /^[\p{L}\p{M}\p{Nd}_-]+$/u;

/** The most characters (code points) each kind of free string may have. */
export const TEXT_LIMITS = {
  /** Course, section, lesson and category names, meta/og titles, an actor's name. */
  name: 1024,
  /** events.md: usernames and real names. */
  username: 255,
  realName: 255,
  slug: 1024,
  /** A course's description (rich text). */
  description: 65536,
  /** Meta and Open Graph descriptions. */
  summary: 4096,
  /** Image URLs and avatars (signed CDN URLs run long). */
  url: 8192,
  /** RFC 5321: a 64-character local part, "@", a 255-character domain. */
  email: 320,
  /** An e-mail's type ("work"). */
  label: 255,
} as const;

/** A user's e-mails are copied into every enrollment of the user. */
export const MAX_EMAILS = 100;
export const MAX_CATEGORIES = 1000;

export const CUSTOM_FIELDS_LIMITS = {
  /** Each custom field's value, as JSON (UTF-8 bytes): 8 KiB. */
  maxValueBytes: 8 * 1024,
  /** All custom fields of an enrollment, as JSON (UTF-8 bytes): 64 KiB. */
  maxBytes: 64 * 1024,
} as const;

const bounded = (maxLength: number) => string({ maxLength });

const username = string({
  minLength: 1,
  maxLength: TEXT_LIMITS.username,
  pattern: USERNAME_PATTERN,
  patternHint: 'letters, digits, "-" and "_" only',
  description: 'Letters, digits, `-` and `_`; at most 255 characters.',
});
const realName = string({ maxLength: TEXT_LIMITS.realName, description: 'At most 255 characters.' });
const displayName = bounded(TEXT_LIMITS.name);
const url = bounded(TEXT_LIMITS.url);
const summary = bounded(TEXT_LIMITS.summary);
const flag = boolean();

export const personRefSchema = named(
  'PersonRef',
  object({
    id: required(positiveId()),
    username: required(username),
    real_name: optional(realName, ''),
    avatar: optional(nullable(url), null),
  }),
);

export const courseSchema = named(
  'Course',
  object(
    {
      id: required(positiveId()),
      name: required(displayName),
      type: required(oneOf(COURSE_TYPES)),
      slug: optional(bounded(TEXT_LIMITS.slug), ''),
      description: optional(bounded(TEXT_LIMITS.description), ''),
      privacy: optional(oneOf(COURSE_PRIVACIES), '', '"" is a draft.'),
      enforce_lessons_order: optional(flag, false),
      new_comment_notification_enabled: optional(flag, true, "Defaults to true, as the community platform's Course schema says."),
      hide_member_count: optional(flag, false),
      meta_title: optional(displayName, ''),
      meta_description: optional(summary, ''),
      og_title: optional(displayName, ''),
      og_description: optional(summary, ''),
      og_image: optional(url, ''),
      image_bigger: optional(url, ''),
      image_big: optional(url, ''),
      image_medium: optional(url, ''),
      image_small: optional(url, ''),
      created_at: optional(nullable(timestamp('millis')), null, 'RFC 3339 with a zone offset; stored in UTC with milliseconds.'),
      created_by: optional(nullable(personRefSchema), null),
      categories: optional(
        arrayOf(named('Category', object({ id: required(positiveId()), name: required(displayName) })), { maxItems: MAX_CATEGORIES }),
        [] as { id: number; name: string }[],
      ),
    },
    "Full snapshot of the course's own fields: an absent (or null) optional field takes its default.",
  ),
);

const position = integer({ description: 'Orders siblings; any integer.' });

export const sectionSchema = named('Section', object({ id: required(positiveId()), name: required(displayName), position: required(position) }));

export const lessonSchema = named(
  'Lesson',
  object({
    id: required(positiveId()),
    section_id: required(positiveId()),
    name: required(displayName),
    type: optional(oneOf(LESSON_TYPES), 'lesson'),
    status: required(oneOf(LESSON_STATUSES)),
    position: required(position),
  }),
);

export const userEmailSchema = named(
  'UserEmail',
  object({
    email: required(string({ minLength: 1, maxLength: TEXT_LIMITS.email })),
    type: optional(bounded(TEXT_LIMITS.label), ''),
    is_primary: optional(flag, false),
  }),
);

export const userProfileSchema = named(
  'User',
  object({
    id: required(positiveId()),
    username: required(username),
    real_name: optional(realName, ''),
    avatar: optional(nullable(url), null),
    emails: optional(arrayOf(userEmailSchema, { maxItems: MAX_EMAILS }), [] as { email: string; type: string; is_primary: boolean }[]),
  }),
);

export const assignmentSchema = named(
  'Assignment',
  object(
    {
      due_at: optional(nullable(timestamp('millis')), null),
      access_expires_at: optional(nullable(timestamp('millis')), null),
      is_mandatory: optional(flag, false),
    },
    'Replaces the whole assignment: absent inner fields become null/false.',
  ),
);

export const actorSchema = named('Actor', object({ id: required(positiveId()), name: optional(nullable(displayName), null) }, 'Who caused the change.'));

export type InputTopic = 'courses' | 'memberships' | 'lessonProgress' | 'users';

export interface InputEventDefinition<D = unknown> {
  readonly type: string;
  /** The topic events.md lists the type on (the service accepts it on any input topic). */
  readonly topic: InputTopic;
  readonly summary: string;
  readonly data: Schema<D>;
  readonly toFact: (data: D, meta: FactMeta) => Fact;
  /** The example of events.md, used in the AsyncAPI document and the tests. */
  readonly example: Record<string, unknown>;
}

const define = <D>(def: InputEventDefinition<D>): InputEventDefinition<D> => def;
const dataSchema = <D>(type: string, inner: Schema<D>): Schema<D> => named(`${pascal(type)}Data`, inner);

function pascal(type: string): string {
  return type
    .split(/[._-]/)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

const courseId = required(positiveId());
const userId = required(positiveId());
const lessonId = required(positiveId());

export const INPUT_EVENTS = {
  'lms.course.upserted': define({
    type: 'lms.course.upserted',
    topic: 'courses',
    summary: 'A course was created or changed: full snapshot of its own fields.',
    data: dataSchema('lms.course.upserted', object({ course: required(courseSchema) })),
    toFact: (d, meta) => ({ kind: 'course', meta, courseId: d.course.id, deleted: false, course: d.course }),
    example: {
      course: {
        id: 42,
        name: 'Kafka for Humans',
        type: 'self-paced',
        slug: 'kafka-for-humans',
        description: 'Streams, partitions and keys.',
        privacy: 'open',
        enforce_lessons_order: true,
        created_at: '2026-09-01T08:00:00+02:00',
        created_by: { id: 3, username: 'ada', real_name: 'Ada Admin', avatar: null },
        categories: [{ id: 1, name: 'Engineering' }],
      },
    },
  }),
  'lms.course.deleted': define({
    type: 'lms.course.deleted',
    topic: 'courses',
    summary: 'A course was deleted.',
    data: dataSchema('lms.course.deleted', object({ course_id: courseId })),
    toFact: (d, meta) => ({ kind: 'course', meta, courseId: d.course_id, deleted: true }),
    example: { course_id: 42 },
  }),
  'lms.section.upserted': define({
    type: 'lms.section.upserted',
    topic: 'courses',
    summary: 'A section was created or changed.',
    data: dataSchema('lms.section.upserted', object({ course_id: courseId, section: required(sectionSchema) })),
    toFact: (d, meta) => ({
      kind: 'section',
      meta,
      courseId: d.course_id,
      sectionId: d.section.id,
      deleted: false,
      section: d.section,
    }),
    example: { course_id: 42, section: { id: 5, name: 'Intro', position: 1 } },
  }),
  'lms.section.deleted': define({
    type: 'lms.section.deleted',
    topic: 'courses',
    summary: 'A section was deleted.',
    data: dataSchema('lms.section.deleted', object({ course_id: courseId, section_id: required(positiveId()) })),
    toFact: (d, meta) => ({ kind: 'section', meta, courseId: d.course_id, sectionId: d.section_id, deleted: true }),
    example: { course_id: 42, section_id: 5 },
  }),
  'lms.lesson.upserted': define({
    type: 'lms.lesson.upserted',
    topic: 'courses',
    summary: 'A lesson was created or changed.',
    data: dataSchema('lms.lesson.upserted', object({ course_id: courseId, lesson: required(lessonSchema) })),
    toFact: (d, meta) => ({
      kind: 'lesson',
      meta,
      courseId: d.course_id,
      lessonId: d.lesson.id,
      deleted: false,
      lesson: d.lesson,
    }),
    example: {
      course_id: 42,
      lesson: { id: 9, section_id: 5, name: 'Welcome', type: 'lesson', status: 'published', position: 1 },
    },
  }),
  'lms.lesson.deleted': define({
    type: 'lms.lesson.deleted',
    topic: 'courses',
    summary: 'A lesson was deleted.',
    data: dataSchema('lms.lesson.deleted', object({ course_id: courseId, lesson_id: lessonId })),
    toFact: (d, meta) => ({ kind: 'lesson', meta, courseId: d.course_id, lessonId: d.lesson_id, deleted: true }),
    example: { course_id: 42, lesson_id: 9 },
  }),
  'lms.membership.changed': define({
    type: 'lms.membership.changed',
    topic: 'memberships',
    summary: "A user's membership of a course changed.",
    data: dataSchema(
      'lms.membership.changed',
      object({
        course_id: courseId,
        user_id: userId,
        join_status: required(nullable(oneOf(JOIN_STATUSES)), 'Required, may be null (left, removed, rejected, revoked).'),
        actor: optional(nullable(actorSchema), null),
        assignment: maybe(nullAsEmpty(assignmentSchema), 'When present it replaces the whole assignment (null = the empty one); when absent it is unchanged.'),
        custom_fields: maybe(
          nullAsEmpty(
            jsonObject({
              ...CUSTOM_FIELDS_LIMITS,
              description: 'Each value at most 8 KiB as JSON, all of them at most 64 KiB as JSON (UTF-8 bytes).',
            }),
          ),
          'When present it replaces the custom fields (null = {}); when absent they are unchanged.',
        ),
      }),
    ),
    toFact: (d, meta) => {
      const fact: Fact = {
        kind: 'membership',
        meta,
        courseId: d.course_id,
        userId: d.user_id,
        joinStatus: d.join_status,
        actor: d.actor,
      };
      if (d.assignment !== undefined) fact.assignment = d.assignment;
      if (d.custom_fields !== undefined) fact.customFields = d.custom_fields;
      return fact;
    },
    example: {
      course_id: 42,
      user_id: 7,
      join_status: 'joined',
      actor: { id: 3, name: 'Ada Admin' },
      assignment: { due_at: '2026-12-31T23:59:59Z', access_expires_at: null, is_mandatory: true },
      custom_fields: { cost_center: 'R&D' },
    },
  }),
  'lms.lesson.completed': define({
    type: 'lms.lesson.completed',
    topic: 'lessonProgress',
    summary: 'A user completed a lesson.',
    data: dataSchema(
      'lms.lesson.completed',
      object({
        course_id: courseId,
        lesson_id: lessonId,
        user_id: userId,
        time_spent_seconds: optional(nullable(integer({ min: 0 })), null),
      }),
    ),
    toFact: (d, meta) => ({
      kind: 'progress',
      meta,
      courseId: d.course_id,
      userId: d.user_id,
      lessonId: d.lesson_id,
      completed: true,
      timeSpentSeconds: d.time_spent_seconds,
    }),
    example: { course_id: 42, lesson_id: 9, user_id: 7, time_spent_seconds: 300 },
  }),
  'lms.lesson.uncompleted': define({
    type: 'lms.lesson.uncompleted',
    topic: 'lessonProgress',
    summary: "A lesson's completion was withdrawn.",
    data: dataSchema('lms.lesson.uncompleted', object({ course_id: courseId, lesson_id: lessonId, user_id: userId })),
    toFact: (d, meta) => ({
      kind: 'progress',
      meta,
      courseId: d.course_id,
      userId: d.user_id,
      lessonId: d.lesson_id,
      completed: false,
      timeSpentSeconds: null,
    }),
    example: { course_id: 42, lesson_id: 9, user_id: 7 },
  }),
  'lms.course.graded': define({
    type: 'lms.course.graded',
    topic: 'lessonProgress',
    summary: 'A graded attempt at a course.',
    data: dataSchema(
      'lms.course.graded',
      object({
        course_id: courseId,
        user_id: userId,
        attempt_number: required(integer({ min: 1 })),
        score: required(number({ min: 0, max: 100 })),
        passed: required(boolean()),
      }),
    ),
    toFact: (d, meta) => ({
      kind: 'grade',
      meta,
      courseId: d.course_id,
      userId: d.user_id,
      attemptNumber: d.attempt_number,
      score: d.score,
      passed: d.passed,
    }),
    example: { course_id: 42, user_id: 7, attempt_number: 2, score: 87.5, passed: true },
  }),
  'lms.user.upserted': define({
    type: 'lms.user.upserted',
    topic: 'users',
    summary: "A user's profile was created or changed.",
    data: dataSchema('lms.user.upserted', object({ user: required(userProfileSchema) })),
    toFact: (d, meta) => ({ kind: 'user', meta, userId: d.user.id, deleted: false, user: d.user }),
    example: {
      user: {
        id: 7,
        username: 'grace',
        real_name: 'Grace H.',
        avatar: null,
        emails: [{ email: 'g@example.com', type: 'work', is_primary: true }],
      },
    },
  }),
  'lms.user.deleted': define({
    type: 'lms.user.deleted',
    topic: 'users',
    summary: 'A user was erased: the service keeps none of their personal data.',
    data: dataSchema('lms.user.deleted', object({ user_id: userId })),
    toFact: (d, meta) => ({ kind: 'user', meta, userId: d.user_id, deleted: true }),
    example: { user_id: 7 },
  }),
} as const;

export type InputEventType = keyof typeof INPUT_EVENTS;
export const INPUT_EVENT_TYPES = Object.keys(INPUT_EVENTS) as InputEventType[];

const BY_TYPE = new Map<string, InputEventDefinition<unknown>>(Object.entries(INPUT_EVENTS) as [string, InputEventDefinition<unknown>][]);

/** The definition of a known input type, or undefined (safe for any string, `__proto__` included). */
export function inputEventDefinition(type: string): InputEventDefinition<unknown> | undefined {
  return BY_TYPE.get(type);
}

export function isInputEventType(type: string): type is InputEventType {
  return BY_TYPE.has(type);
}
