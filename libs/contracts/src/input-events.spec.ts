import type { Fact } from '@app/domain';
import { INPUT_EVENT_TYPES, INPUT_EVENTS, InputEventType } from './input-events';
import { accept, binary, cloudEvent, structured } from './testing/messages';

const META = (type: string) => ({ time: '2026-11-20T10:15:30.123456Z', source: '/community', id: 'evt-9381', type });

const COURSE_DEFAULTS = {
  slug: '',
  description: '',
  privacy: '' as const,
  enforce_lessons_order: false,
  new_comment_notification_enabled: true, // events.md: defaults to true, as the Course schema says
  hide_member_count: false,
  meta_title: '',
  meta_description: '',
  og_title: '',
  og_description: '',
  og_image: '',
  image_bigger: '',
  image_big: '',
  image_medium: '',
  image_small: '',
  created_at: null,
  created_by: null,
  categories: [] as { id: number; name: string }[],
};

/** Every example of events.md, with the Fact it must become (written out by hand). */
const CASES: [InputEventType, unknown, Fact][] = [
  [
    'lms.course.upserted',
    { course: { id: 42, name: 'Intro to Kafka', type: 'self-paced' } },
    {
      kind: 'course',
      meta: META('lms.course.upserted'),
      courseId: 42,
      deleted: false,
      course: { id: 42, name: 'Intro to Kafka', type: 'self-paced', ...COURSE_DEFAULTS },
    },
  ],
  ['lms.course.deleted', { course_id: 42 }, { kind: 'course', meta: META('lms.course.deleted'), courseId: 42, deleted: true }],
  [
    'lms.section.upserted',
    { course_id: 42, section: { id: 5, name: 'Intro', position: 1 } },
    {
      kind: 'section',
      meta: META('lms.section.upserted'),
      courseId: 42,
      sectionId: 5,
      deleted: false,
      section: { id: 5, name: 'Intro', position: 1 },
    },
  ],
  ['lms.section.deleted', { course_id: 42, section_id: 5 }, { kind: 'section', meta: META('lms.section.deleted'), courseId: 42, sectionId: 5, deleted: true }],
  [
    'lms.lesson.upserted',
    { course_id: 42, lesson: { id: 9, section_id: 5, name: 'Welcome', type: 'lesson', status: 'published', position: 1 } },
    {
      kind: 'lesson',
      meta: META('lms.lesson.upserted'),
      courseId: 42,
      lessonId: 9,
      deleted: false,
      lesson: { id: 9, section_id: 5, name: 'Welcome', type: 'lesson', status: 'published', position: 1 },
    },
  ],
  ['lms.lesson.deleted', { course_id: 42, lesson_id: 9 }, { kind: 'lesson', meta: META('lms.lesson.deleted'), courseId: 42, lessonId: 9, deleted: true }],
  [
    'lms.membership.changed',
    {
      course_id: 42,
      user_id: 7,
      join_status: 'joined',
      actor: { id: 3, name: 'Ada Admin' },
      assignment: { due_at: '2026-12-31T23:59:59Z', access_expires_at: null, is_mandatory: true },
      custom_fields: { cost_center: 'R&D' },
    },
    {
      kind: 'membership',
      meta: META('lms.membership.changed'),
      courseId: 42,
      userId: 7,
      joinStatus: 'joined',
      actor: { id: 3, name: 'Ada Admin' },
      assignment: { due_at: '2026-12-31T23:59:59.000Z', access_expires_at: null, is_mandatory: true },
      customFields: { cost_center: 'R&D' },
    },
  ],
  [
    'lms.lesson.completed',
    { course_id: 42, lesson_id: 9, user_id: 7, time_spent_seconds: 300 },
    {
      kind: 'progress',
      meta: META('lms.lesson.completed'),
      courseId: 42,
      userId: 7,
      lessonId: 9,
      completed: true,
      timeSpentSeconds: 300,
    },
  ],
  [
    'lms.lesson.uncompleted',
    { course_id: 42, lesson_id: 9, user_id: 7 },
    {
      kind: 'progress',
      meta: META('lms.lesson.uncompleted'),
      courseId: 42,
      userId: 7,
      lessonId: 9,
      completed: false,
      timeSpentSeconds: null,
    },
  ],
  [
    'lms.course.graded',
    { course_id: 42, user_id: 7, attempt_number: 2, score: 87.5, passed: true },
    { kind: 'grade', meta: META('lms.course.graded'), courseId: 42, userId: 7, attemptNumber: 2, score: 87.5, passed: true },
  ],
  [
    'lms.user.upserted',
    {
      user: {
        id: 7,
        username: 'grace',
        real_name: 'Grace H.',
        avatar: null,
        emails: [{ email: 'g@example.com', type: 'work', is_primary: true }],
      },
    },
    {
      kind: 'user',
      meta: META('lms.user.upserted'),
      userId: 7,
      deleted: false,
      user: {
        id: 7,
        username: 'grace',
        real_name: 'Grace H.',
        avatar: null,
        emails: [{ email: 'g@example.com', type: 'work', is_primary: true }],
      },
    },
  ],
  ['lms.user.deleted', { user_id: 7 }, { kind: 'user', meta: META('lms.user.deleted'), userId: 7, deleted: true }],
];

describe('input events: the examples of events.md', () => {
  it('covers every input type of events.md', () => {
    expect(new Set(CASES.map(([type]) => type))).toEqual(new Set(INPUT_EVENT_TYPES));
    expect(INPUT_EVENT_TYPES).toHaveLength(12);
  });

  it.each(CASES)('%s decodes to the expected Fact (structured mode)', (type, data, fact) => {
    const event = accept(structured(cloudEvent(type, data)));
    expect(event.fact).toStrictEqual(fact);
    expect(event.mode).toBe('structured');
    expect(event.type).toBe(type);
  });

  it.each(CASES)('%s gives the same Fact in binary mode', (type, data, fact) => {
    const event = accept(binary(cloudEvent(type, data)));
    expect(event.mode).toBe('binary');
    expect(event.fact).toStrictEqual(fact);
  });

  it.each(INPUT_EVENT_TYPES)('the documented example of %s is valid', (type) => {
    const event = accept(structured(cloudEvent(type, INPUT_EVENTS[type].example)));
    expect(event.fact.meta.type).toBe(type);
  });
});

describe('input events: defaults and normalisation', () => {
  it('fills every course default and normalises created_at to UTC milliseconds', () => {
    const fact = accept(structured(cloudEvent('lms.course.upserted', INPUT_EVENTS['lms.course.upserted'].example))).fact;
    expect(fact).toMatchObject({
      kind: 'course',
      course: {
        slug: 'kafka-for-humans',
        privacy: 'open',
        enforce_lessons_order: true,
        hide_member_count: false,
        meta_title: '',
        created_at: '2026-09-01T06:00:00.000Z',
        created_by: { id: 3, username: 'ada', real_name: 'Ada Admin', avatar: null },
        categories: [{ id: 1, name: 'Engineering' }],
      },
    });
  });

  it('defaults new_comment_notification_enabled to true (events.md) and keeps an explicit false', () => {
    const absent = accept(structured(cloudEvent('lms.course.upserted', { course: { id: 1, name: 'n', type: 'scheduled' } }))).fact;
    const sentNull = accept(
      structured(cloudEvent('lms.course.upserted', { course: { id: 1, name: 'n', type: 'scheduled', new_comment_notification_enabled: null } })),
    ).fact;
    const sentFalse = accept(
      structured(cloudEvent('lms.course.upserted', { course: { id: 1, name: 'n', type: 'scheduled', new_comment_notification_enabled: false } })),
    ).fact;
    expect(absent).toMatchObject({ course: { new_comment_notification_enabled: true, enforce_lessons_order: false, hide_member_count: false } });
    expect(sentNull).toMatchObject({ course: { new_comment_notification_enabled: true } });
    expect(sentFalse).toMatchObject({ course: { new_comment_notification_enabled: false } });
  });

  it('reads an explicit null optional course field as its default', () => {
    const fact = accept(
      structured(
        cloudEvent('lms.course.upserted', { course: { id: 1, name: 'n', type: 'scheduled', slug: null, privacy: null, categories: null, hide_member_count: null } }),
      ),
    ).fact;
    expect(fact).toMatchObject({ course: { slug: '', privacy: '', categories: [], hide_member_count: false } });
  });

  it('never shares a default list between two facts', () => {
    const a = accept(structured(cloudEvent('lms.course.upserted', { course: { id: 1, name: 'a', type: 'structured' } }))).fact;
    const b = accept(structured(cloudEvent('lms.course.upserted', { course: { id: 2, name: 'b', type: 'structured' } }))).fact;
    if (a.kind !== 'course' || a.deleted || b.kind !== 'course' || b.deleted) throw new Error('expected course upserts');
    expect(a.course.categories).not.toBe(b.course.categories);
  });

  it('defaults a lesson type to "lesson" and keeps "quiz"', () => {
    const base = { id: 9, section_id: 5, name: 'Q', status: 'draft', position: 2 };
    const absent = accept(structured(cloudEvent('lms.lesson.upserted', { course_id: 1, lesson: base }))).fact;
    const quiz = accept(structured(cloudEvent('lms.lesson.upserted', { course_id: 1, lesson: { ...base, type: 'quiz' } }))).fact;
    expect(absent).toMatchObject({ lesson: { type: 'lesson', status: 'draft' } });
    expect(quiz).toMatchObject({ lesson: { type: 'quiz' } });
  });

  it('accepts negative and zero positions', () => {
    const fact = accept(structured(cloudEvent('lms.section.upserted', { course_id: 1, section: { id: 2, name: 's', position: -3 } }))).fact;
    expect(fact).toMatchObject({ section: { position: -3 } });
    expect(accept(structured(cloudEvent('lms.section.upserted', { course_id: 1, section: { id: 2, name: 's', position: 0 } }))).fact).toMatchObject({
      section: { position: 0 },
    });
  });

  it('leaves assignment and custom fields out of a membership fact that does not carry them', () => {
    const fact = accept(structured(cloudEvent('lms.membership.changed', { course_id: 42, user_id: 7, join_status: null }))).fact;
    expect(fact).toStrictEqual({
      kind: 'membership',
      meta: META('lms.membership.changed'),
      courseId: 42,
      userId: 7,
      joinStatus: null,
      actor: null,
    });
    expect('assignment' in fact).toBe(false);
    expect('customFields' in fact).toBe(false);
  });

  it('replaces the assignment with the empty one when it is {} or null, and custom fields with {} when null', () => {
    for (const assignment of [{}, null]) {
      const fact = accept(structured(cloudEvent('lms.membership.changed', { course_id: 42, user_id: 7, join_status: 'invited', assignment, custom_fields: null }))).fact;
      expect(fact).toMatchObject({
        assignment: { due_at: null, access_expires_at: null, is_mandatory: false },
        customFields: {},
      });
    }
  });

  it('normalises assignment deadlines with offsets and extra digits to UTC milliseconds, truncated', () => {
    const fact = accept(
      structured(
        cloudEvent('lms.membership.changed', {
          course_id: 42,
          user_id: 7,
          join_status: 'invited',
          assignment: { due_at: '2027-01-01T00:59:59.9999999+01:00', access_expires_at: '2027-03-01T10:00:00-05:30' },
        }),
      ),
    ).fact;
    expect(fact).toMatchObject({
      assignment: { due_at: '2026-12-31T23:59:59.999Z', access_expires_at: '2027-03-01T15:30:00.000Z', is_mandatory: false },
    });
  });

  it('takes an actor without a name', () => {
    const fact = accept(structured(cloudEvent('lms.membership.changed', { course_id: 1, user_id: 2, join_status: 'manager', actor: { id: 3 } }))).fact;
    expect(fact).toMatchObject({ joinStatus: 'manager', actor: { id: 3, name: null } });
  });

  it('keeps a zero time spent and reads an absent one as null', () => {
    const zero = accept(structured(cloudEvent('lms.lesson.completed', { course_id: 1, lesson_id: 2, user_id: 3, time_spent_seconds: 0 }))).fact;
    const none = accept(structured(cloudEvent('lms.lesson.completed', { course_id: 1, lesson_id: 2, user_id: 3 }))).fact;
    expect(zero).toMatchObject({ completed: true, timeSpentSeconds: 0 });
    expect(none).toMatchObject({ completed: true, timeSpentSeconds: null });
  });

  it('accepts the score bounds 0 and 100', () => {
    for (const score of [0, 100]) {
      expect(accept(structured(cloudEvent('lms.course.graded', { course_id: 1, user_id: 2, attempt_number: 1, score, passed: false }))).fact).toMatchObject({
        score,
        attemptNumber: 1,
        passed: false,
      });
    }
  });

  it('fills user defaults', () => {
    const fact = accept(structured(cloudEvent('lms.user.upserted', { user: { id: 7, username: 'grace' } }))).fact;
    expect(fact).toStrictEqual({
      kind: 'user',
      meta: META('lms.user.upserted'),
      userId: 7,
      deleted: false,
      user: { id: 7, username: 'grace', real_name: '', avatar: null, emails: [] },
    });
  });

  it('accepts Unicode letters and a 255-character username', () => {
    const fact = accept(structured(cloudEvent('lms.user.upserted', { user: { id: 7, username: 'José_Ñandú-2', real_name: 'é'.repeat(255) } }))).fact;
    expect(fact).toMatchObject({ user: { username: 'José_Ñandú-2' } });
    expect(accept(structured(cloudEvent('lms.user.upserted', { user: { id: 7, username: 'a'.repeat(255) } }))).fact).toMatchObject({
      user: { username: 'a'.repeat(255) },
    });
  });

  it('fills e-mail defaults', () => {
    const fact = accept(structured(cloudEvent('lms.user.upserted', { user: { id: 7, username: 'g', emails: [{ email: 'g@x.org' }] } }))).fact;
    expect(fact).toMatchObject({ user: { emails: [{ email: 'g@x.org', type: '', is_primary: false }] } });
  });

  it('ignores unknown fields at every level, so they never reach the fact', () => {
    const fact = accept(
      structured(
        cloudEvent('lms.user.upserted', {
          user: { id: 7, username: 'grace', shoe_size: 38, emails: [{ email: 'g@x.org', verified: true }] },
          extra: { nested: 1 },
        }),
      ),
    ).fact;
    expect(fact).toStrictEqual({
      kind: 'user',
      meta: META('lms.user.upserted'),
      userId: 7,
      deleted: false,
      user: { id: 7, username: 'grace', real_name: '', avatar: null, emails: [{ email: 'g@x.org', type: '', is_primary: false }] },
    });
  });
});
