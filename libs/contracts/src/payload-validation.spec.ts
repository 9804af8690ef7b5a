import { InputEventType } from './input-events';
import { cloudEvent, reject, structured } from './testing/messages';

const COURSE = { id: 42, name: 'Kafka', type: 'self-paced' };
const SECTION = { id: 5, name: 'Intro', position: 1 };
const LESSON = { id: 9, section_id: 5, name: 'Welcome', type: 'lesson', status: 'published', position: 1 };
const MEMBERSHIP = { course_id: 42, user_id: 7, join_status: 'joined' };
const PROGRESS = { course_id: 42, lesson_id: 9, user_id: 7 };
const GRADE = { course_id: 42, user_id: 7, attempt_number: 2, score: 87.5, passed: true };
const USER = { id: 7, username: 'grace' };
const MISSING = Symbol('missing');

/** A copy of `data` with the value at `path` replaced (or removed with MISSING). */
function withValue(data: unknown, path: string, value: unknown): unknown {
  const copy = structuredClone(data) as Record<string, unknown>;
  const keys = path.split('.');
  let node: Record<string, unknown> = copy;
  for (const k of keys.slice(0, -1)) node = node[k] as Record<string, unknown>;
  const last = keys[keys.length - 1];
  if (value === MISSING) delete node[last];
  else node[last] = value;
  return copy;
}

type Case = [InputEventType, unknown, string, unknown, string];
const cases: Case[] = [
  // course.upserted
  ['lms.course.upserted', { course: COURSE }, 'course', MISSING, 'data.course is required'],
  ['lms.course.upserted', { course: COURSE }, 'course', null, 'data.course must be an object, got null'],
  ['lms.course.upserted', { course: COURSE }, 'course.id', MISSING, 'data.course.id is required'],
  ['lms.course.upserted', { course: COURSE }, 'course.id', '42', 'data.course.id must be a positive integer, got "42"'],
  ['lms.course.upserted', { course: COURSE }, 'course.id', 0, 'data.course.id must be a positive integer, got 0'],
  ['lms.course.upserted', { course: COURSE }, 'course.id', -4, 'data.course.id must be a positive integer, got -4'],
  ['lms.course.upserted', { course: COURSE }, 'course.id', 4.5, 'data.course.id must be a positive integer, got 4.5'],
  ['lms.course.upserted', { course: COURSE }, 'course.id', 2 ** 53, 'data.course.id must be a positive integer, got 9007199254740992'],
  ['lms.course.upserted', { course: COURSE }, 'course.name', MISSING, 'data.course.name is required'],
  ['lms.course.upserted', { course: COURSE }, 'course.name', null, 'data.course.name must be a string, got null'],
  ['lms.course.upserted', { course: COURSE }, 'course.type', MISSING, 'data.course.type is required'],
  ['lms.course.upserted', { course: COURSE }, 'course.type', 'ebook', 'data.course.type must be one of "self-paced", "structured", "scheduled", got "ebook"'],
  ['lms.course.upserted', { course: COURSE }, 'course.privacy', 'public', 'data.course.privacy must be one of "", "open", "private", "secret", got "public"'],
  ['lms.course.upserted', { course: COURSE }, 'course.slug', 5, 'data.course.slug must be a string, got 5'],
  ['lms.course.upserted', { course: COURSE }, 'course.og_image', ['x'], 'data.course.og_image must be a string, got an array'],
  ['lms.course.upserted', { course: COURSE }, 'course.enforce_lessons_order', 'yes', 'data.course.enforce_lessons_order must be true or false, got "yes"'],
  ['lms.course.upserted', { course: COURSE }, 'course.hide_member_count', 1, 'data.course.hide_member_count must be true or false, got 1'],
  [
    'lms.course.upserted',
    { course: COURSE },
    'course.created_at',
    '2026-09-01T08:00:00',
    'data.course.created_at must be an RFC 3339 timestamp with a zone offset (e.g. "2026-11-20T10:15:30.123Z"), got "2026-09-01T08:00:00"',
  ],
  ['lms.course.upserted', { course: COURSE }, 'course.created_by', 'ada', 'data.course.created_by must be an object, got "ada"'],
  ['lms.course.upserted', { course: { ...COURSE, created_by: { id: 3, username: 'ada' } } }, 'course.created_by.id', MISSING, 'data.course.created_by.id is required'],
  [
    'lms.course.upserted',
    { course: { ...COURSE, created_by: { id: 3, username: 'ada' } } },
    'course.created_by.username',
    'ada lovelace',
    'data.course.created_by.username must be letters, digits, "-" and "_" only, got "ada lovelace"',
  ],
  ['lms.course.upserted', { course: COURSE }, 'course.categories', { id: 1 }, 'data.course.categories must be an array, got an object'],
  [
    'lms.course.upserted',
    {
      course: {
        ...COURSE,
        categories: [
          { id: 1, name: 'a' },
          { id: 2, name: 'b' },
        ],
      },
    },
    'course.categories.1.id',
    'two',
    'data.course.categories[1].id must be a positive integer, got "two"',
  ],
  [
    'lms.course.upserted',
    { course: { ...COURSE, categories: [{ id: 1, name: 'a' }] } },
    'course.categories.0.name',
    MISSING,
    'data.course.categories[0].name is required',
  ],
  // course.deleted
  ['lms.course.deleted', { course_id: 42 }, 'course_id', MISSING, 'data.course_id is required'],
  ['lms.course.deleted', { course_id: 42 }, 'course_id', null, 'data.course_id must be a positive integer, got null'],
  // section.upserted
  ['lms.section.upserted', { course_id: 42, section: SECTION }, 'course_id', MISSING, 'data.course_id is required'],
  ['lms.section.upserted', { course_id: 42, section: SECTION }, 'section.id', MISSING, 'data.section.id is required'],
  ['lms.section.upserted', { course_id: 42, section: SECTION }, 'section.name', MISSING, 'data.section.name is required'],
  ['lms.section.upserted', { course_id: 42, section: SECTION }, 'section.position', MISSING, 'data.section.position is required'],
  ['lms.section.upserted', { course_id: 42, section: SECTION }, 'section.position', 1.5, 'data.section.position must be an integer, got 1.5'],
  ['lms.section.upserted', { course_id: 42, section: SECTION }, 'section.position', '1', 'data.section.position must be an integer, got "1"'],
  // section.deleted
  ['lms.section.deleted', { course_id: 42, section_id: 5 }, 'section_id', MISSING, 'data.section_id is required'],
  ['lms.section.deleted', { course_id: 42, section_id: 5 }, 'section_id', 0, 'data.section_id must be a positive integer, got 0'],
  // lesson.upserted
  ['lms.lesson.upserted', { course_id: 42, lesson: LESSON }, 'course_id', MISSING, 'data.course_id is required'],
  ['lms.lesson.upserted', { course_id: 42, lesson: LESSON }, 'lesson.status', 'live', 'data.lesson.status must be "draft" or "published", got "live"'],
  ['lms.lesson.upserted', { course_id: 42, lesson: LESSON }, 'lesson.status', MISSING, 'data.lesson.status is required'],
  ['lms.lesson.upserted', { course_id: 42, lesson: LESSON }, 'lesson.status', null, 'data.lesson.status must be "draft" or "published", got null'],
  ['lms.lesson.upserted', { course_id: 42, lesson: LESSON }, 'lesson.section_id', MISSING, 'data.lesson.section_id is required'],
  ['lms.lesson.upserted', { course_id: 42, lesson: LESSON }, 'lesson.type', 'video', 'data.lesson.type must be "lesson" or "quiz", got "video"'],
  ['lms.lesson.upserted', { course_id: 42, lesson: LESSON }, 'lesson.id', MISSING, 'data.lesson.id is required'],
  ['lms.lesson.upserted', { course_id: 42, lesson: LESSON }, 'lesson.name', MISSING, 'data.lesson.name is required'],
  ['lms.lesson.upserted', { course_id: 42, lesson: LESSON }, 'lesson.position', MISSING, 'data.lesson.position is required'],
  // lesson.deleted
  ['lms.lesson.deleted', { course_id: 42, lesson_id: 9 }, 'lesson_id', MISSING, 'data.lesson_id is required'],
  ['lms.lesson.deleted', { course_id: 42, lesson_id: 9 }, 'course_id', true, 'data.course_id must be a positive integer, got true'],
  // membership.changed
  ['lms.membership.changed', MEMBERSHIP, 'join_status', MISSING, 'data.join_status is required'],
  ['lms.membership.changed', MEMBERSHIP, 'join_status', 'left', 'data.join_status must be one of "creator", "manager", "joined", "invited", "requested", got "left"'],
  ['lms.membership.changed', MEMBERSHIP, 'user_id', MISSING, 'data.user_id is required'],
  ['lms.membership.changed', MEMBERSHIP, 'actor', 'ada', 'data.actor must be an object, got "ada"'],
  ['lms.membership.changed', { ...MEMBERSHIP, actor: { id: 3 } }, 'actor.id', MISSING, 'data.actor.id is required'],
  ['lms.membership.changed', { ...MEMBERSHIP, actor: { id: 3 } }, 'actor.name', 7, 'data.actor.name must be a string, got 7'],
  [
    'lms.membership.changed',
    { ...MEMBERSHIP, assignment: {} },
    'assignment.due_at',
    'tomorrow',
    'data.assignment.due_at must be an RFC 3339 timestamp with a zone offset (e.g. "2026-11-20T10:15:30.123Z"), got "tomorrow"',
  ],
  [
    'lms.membership.changed',
    { ...MEMBERSHIP, assignment: {} },
    'assignment.access_expires_at',
    '2026-12-31',
    'data.assignment.access_expires_at must be an RFC 3339 timestamp with a zone offset (e.g. "2026-11-20T10:15:30.123Z"), got "2026-12-31"',
  ],
  ['lms.membership.changed', { ...MEMBERSHIP, assignment: {} }, 'assignment.is_mandatory', 'yes', 'data.assignment.is_mandatory must be true or false, got "yes"'],
  ['lms.membership.changed', MEMBERSHIP, 'assignment', [], 'data.assignment must be an object, got an array'],
  ['lms.membership.changed', MEMBERSHIP, 'custom_fields', [], 'data.custom_fields must be a JSON object, got an array'],
  ['lms.membership.changed', MEMBERSHIP, 'custom_fields', 'x', 'data.custom_fields must be a JSON object, got "x"'],
  // lesson.completed / uncompleted
  ['lms.lesson.completed', PROGRESS, 'time_spent_seconds', -1, 'data.time_spent_seconds must be an integer ≥ 0, got -1'],
  ['lms.lesson.completed', PROGRESS, 'time_spent_seconds', 1.5, 'data.time_spent_seconds must be an integer ≥ 0, got 1.5'],
  ['lms.lesson.completed', PROGRESS, 'time_spent_seconds', '300', 'data.time_spent_seconds must be an integer ≥ 0, got "300"'],
  ['lms.lesson.completed', PROGRESS, 'lesson_id', MISSING, 'data.lesson_id is required'],
  ['lms.lesson.uncompleted', PROGRESS, 'user_id', MISSING, 'data.user_id is required'],
  ['lms.lesson.uncompleted', PROGRESS, 'course_id', 1e21, 'data.course_id must be a positive integer, got 1e+21'],
  // course.graded
  ['lms.course.graded', GRADE, 'attempt_number', 0, 'data.attempt_number must be a positive integer, got 0'],
  ['lms.course.graded', GRADE, 'attempt_number', 1.5, 'data.attempt_number must be a positive integer, got 1.5'],
  ['lms.course.graded', GRADE, 'attempt_number', MISSING, 'data.attempt_number is required'],
  ['lms.course.graded', GRADE, 'score', 100.5, 'data.score must be a number from 0 to 100, got 100.5'],
  ['lms.course.graded', GRADE, 'score', -0.1, 'data.score must be a number from 0 to 100, got -0.1'],
  ['lms.course.graded', GRADE, 'score', '87.5', 'data.score must be a number from 0 to 100, got "87.5"'],
  ['lms.course.graded', GRADE, 'score', MISSING, 'data.score is required'],
  ['lms.course.graded', GRADE, 'passed', 'true', 'data.passed must be true or false, got "true"'],
  ['lms.course.graded', GRADE, 'passed', MISSING, 'data.passed is required'],
  // user.upserted
  ['lms.user.upserted', { user: USER }, 'user', MISSING, 'data.user is required'],
  ['lms.user.upserted', { user: USER }, 'user.id', MISSING, 'data.user.id is required'],
  ['lms.user.upserted', { user: USER }, 'user.username', MISSING, 'data.user.username is required'],
  ['lms.user.upserted', { user: USER }, 'user.username', '', 'data.user.username must not be empty, got ""'],
  ['lms.user.upserted', { user: USER }, 'user.username', 'grace hopper', 'data.user.username must be letters, digits, "-" and "_" only, got "grace hopper"'],
  ['lms.user.upserted', { user: USER }, 'user.username', 'grace@example.com', 'data.user.username must be letters, digits, "-" and "_" only, got "grace@example.com"'],
  ['lms.user.upserted', { user: USER }, 'user.username', 'g.h', 'data.user.username must be letters, digits, "-" and "_" only, got "g.h"'],
  ['lms.user.upserted', { user: USER }, 'user.username', 'a'.repeat(256), 'data.user.username must have at most 255 characters, got 256'],
  ['lms.user.upserted', { user: USER }, 'user.username', null, 'data.user.username must be a string, got null'],
  ['lms.user.upserted', { user: USER }, 'user.real_name', 'r'.repeat(256), 'data.user.real_name must have at most 255 characters, got 256'],
  ['lms.user.upserted', { user: USER }, 'user.real_name', 5, 'data.user.real_name must be a string, got 5'],
  ['lms.user.upserted', { user: USER }, 'user.avatar', 5, 'data.user.avatar must be a string, got 5'],
  ['lms.user.upserted', { user: USER }, 'user.emails', 'g@x.org', 'data.user.emails must be an array, got "g@x.org"'],
  ['lms.user.upserted', { user: { ...USER, emails: [{ email: 'g@x.org' }] } }, 'user.emails.0.email', MISSING, 'data.user.emails[0].email is required'],
  ['lms.user.upserted', { user: { ...USER, emails: [{ email: 'g@x.org' }] } }, 'user.emails.0.email', '', 'data.user.emails[0].email must not be empty, got ""'],
  [
    'lms.user.upserted',
    { user: { ...USER, emails: [{ email: 'g@x.org' }] } },
    'user.emails.0.is_primary',
    'yes',
    'data.user.emails[0].is_primary must be true or false, got "yes"',
  ],
  ['lms.user.upserted', { user: { ...USER, emails: [{ email: 'g@x.org' }] } }, 'user.emails.0.type', 1, 'data.user.emails[0].type must be a string, got 1'],
  ['lms.user.upserted', { user: { ...USER, emails: ['g@x.org'] } }, 'user.emails.0', 'g@x.org', 'data.user.emails[0] must be an object, got "g@x.org"'],
  // user.deleted
  ['lms.user.deleted', { user_id: 7 }, 'user_id', '7', 'data.user_id must be a positive integer, got "7"'],
  ['lms.user.deleted', { user_id: 7 }, 'user_id', MISSING, 'data.user_id is required'],
];

describe('payload validation: every rule rejects with a reason naming the field', () => {
  const labelled = cases.map(([type, data, path, value, reason]) => {
    const shown = value === MISSING ? '(missing)' : String(JSON.stringify(value)).slice(0, 40);
    return [`${type}: data.${path} = ${shown}`, type, data, path, value, reason] as const;
  });
  it.each(labelled)('%s', (_label, type, data, path, value, reason) => {
    expect(reject(structured(cloudEvent(type, withValue(data, path, value))))).toBe(reason);
  });

  it('counts characters, not UTF-16 units: 255 astral letters pass, 256 do not', () => {
    const letter = '𝒜'; // one code point, two UTF-16 units, a letter (Lu)
    expect(reject(structured(cloudEvent('lms.user.upserted', { user: { id: 1, username: letter.repeat(256) } })))).toBe(
      'data.user.username must have at most 255 characters, got 256',
    );
    const ok = structured(cloudEvent('lms.user.upserted', { user: { id: 1, username: letter.repeat(255) } }));
    expect(() => reject(ok)).toThrow(/expected the message to be rejected/);
  });

  it('shortens long offending values in the reason', () => {
    const reason = reject(structured(cloudEvent('lms.lesson.upserted', { course_id: 1, lesson: { ...LESSON, status: 'x'.repeat(500) } })));
    expect(reason.length).toBeLessThan(200);
    expect(reason).toMatch(/^data\.lesson\.status must be "draft" or "published", got "x+…"$/);
  });
});
