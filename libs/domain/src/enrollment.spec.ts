import { deriveEnrollment } from './enrollment';
import { indexFacts } from './fold';
import {
  completed,
  course,
  courseDeleted,
  graded,
  lesson,
  lessonDeleted,
  membership,
  ms,
  section,
  sectionDeleted,
  t,
  uncompleted,
  user,
  userDeleted,
} from './testing/facts';
import { DEFAULT_CTX, given } from './testing/given';

const C = 1;
const U = 7;
/** A course with two published lessons (10, 11) in section 1, and user 7. */
const courseWithTwoLessons = () => [course(C), section(C, 1), lesson(C, 10), lesson(C, 11), user(U)];

describe('deriveEnrollment: status (rules.md "Status", each rule reachable)', () => {
  it('1. join_status null → withdrawn', () => {
    const e = given(...courseWithTwoLessons(), membership(C, U, 'joined', { at: 1 }), membership(C, U, null, { at: 2 })).enrollment(C, U);
    expect(e.status).toBe('withdrawn');
    expect(e.remote_data.join_status).toBeNull();
  });

  it('2. requested → unknown', () => {
    expect(given(...courseWithTwoLessons(), membership(C, U, 'requested')).enrollment(C, U).status).toBe('unknown');
  });

  it('3. invited → assigned, even with a grade and every lesson completed', () => {
    const e = given(...courseWithTwoLessons(), membership(C, U, 'invited'), completed(C, U, 10), completed(C, U, 11), graded(C, U, 1)).enrollment(C, U);
    expect(e.status).toBe('assigned');
  });

  it('4. a grade → passed / failed by the latest attempt, before completion', () => {
    const base = [...courseWithTwoLessons(), membership(C, U, 'joined'), completed(C, U, 10), completed(C, U, 11)];
    expect(given(...base, graded(C, U, 1, { passed: true })).enrollment(C, U).status).toBe('passed');
    expect(given(...base, graded(C, U, 1, { passed: false })).enrollment(C, U).status).toBe('failed');
  });

  it('5. complete → completed, before expiry', () => {
    const e = given(
      ...courseWithTwoLessons(),
      membership(C, U, 'joined', { assignment: { access_expires_at: ms(10), due_at: ms(5) } }),
      completed(C, U, 10),
      completed(C, U, 11),
    ).enrollment(C, U);
    expect(e.status).toBe('completed');
  });

  it('6. access_expires_at ≤ now → expired, before overdue', () => {
    const s = given(...courseWithTwoLessons(), membership(C, U, 'joined', { at: 1, assignment: { access_expires_at: ms(100), due_at: ms(50) } }));
    expect(s.when({ now: ms(100) }).enrollment(C, U).status).toBe('expired'); // exactly at the instant
    expect(s.when({ now: ms(99) }).enrollment(C, U).status).toBe('overdue');
  });

  it('7. due_at ≤ now → overdue (instants compared, whatever the offset)', () => {
    const s = given(
      ...courseWithTwoLessons(),
      membership(C, U, 'joined', { at: 1, assignment: { due_at: '2026-01-01T03:00:00+02:00' } }), // = 01:00Z
    );
    expect(s.when({ now: '2026-01-01T01:00:00.000Z' }).enrollment(C, U).status).toBe('overdue');
    expect(s.when({ now: '2026-01-01T00:59:59.999Z' }).enrollment(C, U).status).toBe('enrolled');
    expect(s.when({ now: '2026-01-01T00:59:59.999Z' }).enrollment(C, U).due_at).toBe('2026-01-01T01:00:00.000Z');
  });

  it('8. a completion → in_progress, and it stays in_progress after the completion is undone', () => {
    const s = given(...courseWithTwoLessons(), membership(C, U, 'joined'), completed(C, U, 10));
    expect(s.enrollment(C, U).status).toBe('in_progress');
    expect(s.and(uncompleted(C, U, 10)).enrollment(C, U).status).toBe('in_progress');
  });

  it('9. otherwise → enrolled, for joined, manager and creator', () => {
    for (const js of ['joined', 'manager', 'creator'] as const) {
      const e = given(...courseWithTwoLessons(), membership(C, U, js, { at: 3 })).enrollment(C, U);
      expect(e.status).toBe('enrolled');
      expect(e.enrolled_at).toBe(ms(3));
    }
  });
});

describe('deriveEnrollment: membership period', () => {
  const actor = { id: 3, name: 'Ada Admin' };

  it('invited → joined: assigned_at, assigned_by and enrolled_at from the period', () => {
    const e = given(...courseWithTwoLessons(), membership(C, U, 'invited', { at: 1, actor }), membership(C, U, 'joined', { at: 2 })).enrollment(C, U);
    expect(e).toMatchObject({ assigned_at: ms(1), enrolled_at: ms(2), created_at: ms(1), status: 'enrolled' });
    expect(e.assigned_by).toEqual({ id: '3', name: 'Ada Admin' });
  });

  it('invited → joined → null: withdrawn keeps the dates of its period', () => {
    const e = given(
      ...courseWithTwoLessons(),
      membership(C, U, 'invited', { at: 1, actor }),
      membership(C, U, 'joined', { at: 2 }),
      membership(C, U, null, { at: 3 }),
    ).enrollment(C, U);
    expect(e).toMatchObject({ status: 'withdrawn', assigned_at: ms(1), enrolled_at: ms(2), created_at: ms(1) });
  });

  it('invited → joined → null → joined: a new period without the old assignment dates', () => {
    const e = given(
      ...courseWithTwoLessons(),
      membership(C, U, 'invited', { at: 1, actor }),
      membership(C, U, 'joined', { at: 2 }),
      membership(C, U, null, { at: 3 }),
      membership(C, U, 'joined', { at: 4 }),
    ).enrollment(C, U);
    expect(e).toMatchObject({ status: 'enrolled', assigned_at: null, assigned_by: null, enrolled_at: ms(4), created_at: ms(1) });
  });

  it('the period starts at the first fact when there is no null fact, and uses its FIRST invited fact', () => {
    const e = given(
      ...courseWithTwoLessons(),
      membership(C, U, 'requested', { at: 1 }),
      membership(C, U, 'invited', { at: 2, actor }),
      membership(C, U, 'invited', { at: 3, actor: { id: 4, name: 'Bob' } }),
      membership(C, U, 'joined', { at: 4 }),
      membership(C, U, 'manager', { at: 5 }),
    ).enrollment(C, U);
    expect(e).toMatchObject({ assigned_at: ms(2), assigned_by: { id: '3', name: 'Ada Admin' }, enrolled_at: ms(4) });
  });

  it('an invited fact without actor gives assigned_by null', () => {
    const e = given(...courseWithTwoLessons(), membership(C, U, 'invited', { at: 1 })).enrollment(C, U);
    expect(e.assigned_at).toBe(ms(1));
    expect(e.assigned_by).toBeNull();
  });

  it('only null facts: exists, withdrawn, no period', () => {
    const e = given(...courseWithTwoLessons(), membership(C, U, null, { at: 1 })).enrollment(C, U);
    expect(e).toMatchObject({ status: 'withdrawn', assigned_at: null, enrolled_at: null, created_at: ms(1) });
  });

  it('ties in time are broken by source then id (byte order)', () => {
    const s = given(...courseWithTwoLessons(), membership(C, U, 'joined', { at: 1, source: '/b', id: 'x' }), membership(C, U, null, { at: 1, source: '/a', id: 'y' }));
    expect(s.enrollment(C, U).status).toBe('enrolled');
    const s2 = given(
      ...courseWithTwoLessons(),
      membership(C, U, 'joined', { at: 1, source: '/a', id: 'evt-10' }),
      membership(C, U, null, { at: 1, source: '/a', id: 'evt-9' }),
    );
    expect(s2.enrollment(C, U).status).toBe('withdrawn');
  });

  it('created_at is the first membership fact, microseconds truncated', () => {
    const e = given(...courseWithTwoLessons(), membership(C, U, 'joined', { at: t(5, 123_999) })).enrollment(C, U);
    expect(e.created_at).toBe('2026-01-01T00:05:00.123Z');
  });
});

describe('deriveEnrollment: assignment and custom_fields', () => {
  it('come from an older fact when only it carries them', () => {
    const e = given(
      ...courseWithTwoLessons(),
      membership(C, U, 'invited', { at: 1, assignment: { due_at: ms(500), is_mandatory: true }, customFields: { cc: 'R&D' } }),
      membership(C, U, 'joined', { at: 2 }),
    ).enrollment(C, U);
    expect(e).toMatchObject({ due_at: ms(500), is_mandatory: true, custom_fields: { cc: 'R&D' } });
  });

  it('survive a null fact and a new period (absent = unchanged)', () => {
    const e = given(
      ...courseWithTwoLessons(),
      membership(C, U, 'joined', { at: 1, assignment: { due_at: ms(500) }, customFields: { a: 1 } }),
      membership(C, U, null, { at: 2 }),
      membership(C, U, 'joined', { at: 3 }),
    ).enrollment(C, U);
    expect(e).toMatchObject({ due_at: ms(500), custom_fields: { a: 1 } });
  });

  it('a newer carrying fact replaces the whole value; a late older one does not', () => {
    const e = given(
      ...courseWithTwoLessons(),
      membership(C, U, 'joined', { at: 5, assignment: { access_expires_at: ms(900) }, customFields: { b: 2 } }),
      membership(C, U, 'invited', { at: 1, assignment: { due_at: ms(500), is_mandatory: true }, customFields: { a: 1 } }),
    ).enrollment(C, U);
    expect(e).toMatchObject({ due_at: null, is_mandatory: false, custom_fields: { b: 2 } });
  });

  it('default to null, false and {}', () => {
    const e = given(...courseWithTwoLessons(), membership(C, U, 'joined')).enrollment(C, U);
    expect(e).toMatchObject({ due_at: null, is_mandatory: false, custom_fields: {} });
  });
});

describe('deriveEnrollment: course structure', () => {
  it('counts published lessons only; num_sections counts sections holding one', () => {
    const e = given(
      course(C),
      lesson(C, 10, { section_id: 1 }),
      lesson(C, 11, { section_id: 2 }),
      lesson(C, 12, { section_id: 3, status: 'draft' }),
      lesson(C, 13, { section_id: 2, type: 'quiz' }),
      membership(C, U, 'joined'),
    ).enrollment(C, U);
    expect(e.remote_data).toMatchObject({ num_lessons: 3, num_sections: 2 });
  });

  it('a late older upsert does not resurrect a deleted lesson; a newer one does', () => {
    const s = given(course(C), lesson(C, 10), lesson(C, 11, { at: 50 }), lessonDeleted(C, 11, { at: 60 }), membership(C, U, 'joined'));
    expect(s.enrollment(C, U).remote_data.num_lessons).toBe(1);
    expect(s.and(lesson(C, 11, { at: 55 })).enrollment(C, U).remote_data.num_lessons).toBe(1);
    expect(s.and(lesson(C, 11, { at: 65 })).enrollment(C, U).remote_data.num_lessons).toBe(2);
  });

  it('a late older upsert does not resurrect a deleted course; a newer one does', () => {
    const s = given(course(C, { at: 50 }), lesson(C, 10), courseDeleted(C, { at: 60 }), membership(C, U, 'joined'), user(U));
    const deleted = s.and(course(C, { at: 55, name: 'Old' })).derived(C, U);
    expect(deleted).toMatchObject({ exists: true, deleted: true, courseDeleted: true, userDeleted: false });
    expect(deleted?.enrollment).toMatchObject({ course: { id: '1', title: null }, remote_data: { num_lessons: 0, course_type: null, course_privacy: null } });
    const back = s.and(course(C, { at: 65, name: 'Back' })).derived(C, U);
    expect(back).toMatchObject({ deleted: false, enrollment: { course: { title: 'Back' }, remote_data: { num_lessons: 1 } } });
  });

  it('a deleted section stops its lessons counting; a section never seen does not', () => {
    const s = given(course(C), lesson(C, 10, { section_id: 1 }), lesson(C, 20, { section_id: 2 }), membership(C, U, 'joined'), completed(C, U, 10));
    expect(s.enrollment(C, U)).toMatchObject({ status: 'in_progress', remote_data: { num_lessons: 2, num_sections: 2 } });
    const e = s.and(section(C, 2, { at: 1 }), sectionDeleted(C, 2)).enrollment(C, U);
    expect(e).toMatchObject({ status: 'completed', progress_percent: 100, remote_data: { num_lessons: 1, num_sections: 1 } });
  });

  it('lessons of a course never seen count; facts of other courses do not', () => {
    const e = given(lesson(C, 10), lesson(2, 20), lesson(2, 21), membership(C, U, 'joined'), completed(2, U, 20)).enrollment(C, U);
    expect(e).toMatchObject({ course: { id: '1', title: null }, started_at: null, remote_data: { num_lessons: 1, num_lessons_completed: 0 } });
  });
});

describe('deriveEnrollment: progress', () => {
  it('the latest completion/uncompletion fact decides, whatever the arrival order', () => {
    const s = given(...courseWithTwoLessons(), membership(C, U, 'joined'), completed(C, U, 10, { at: 1 }), uncompleted(C, U, 10, { at: 2 }));
    expect(s.enrollment(C, U).remote_data.num_lessons_completed).toBe(0);
    expect(s.and(completed(C, U, 10, { at: 3 })).enrollment(C, U).remote_data.num_lessons_completed).toBe(1);
  });

  it('started_at / last_activity_at: first and latest completion facts of any lesson', () => {
    const e = given(
      ...courseWithTwoLessons(),
      membership(C, U, 'joined'),
      completed(C, U, 99, { at: 1 }), // not a lesson of the course: still activity
      completed(C, U, 10, { at: 2 }),
      uncompleted(C, U, 10, { at: 4 }),
      completed(C, U, 11, { at: 3 }),
    ).enrollment(C, U);
    expect(e).toMatchObject({ started_at: ms(1), last_activity_at: ms(3), completed_at: null, remote_data: { num_lessons_completed: 1 } });
  });

  it('completed_at = latest completion among counting lessons', () => {
    const e = given(
      ...courseWithTwoLessons(),
      membership(C, U, 'joined'),
      completed(C, U, 10, { at: 2 }),
      completed(C, U, 11, { at: 1 }),
      completed(C, U, 99, { at: 5 }),
    ).enrollment(C, U);
    expect(e).toMatchObject({ status: 'completed', completed_at: ms(2), last_activity_at: ms(5), progress_percent: 100 });
  });

  it('publishing a new lesson makes a completed enrollment incomplete', () => {
    const s = given(...courseWithTwoLessons(), membership(C, U, 'joined'), completed(C, U, 10), completed(C, U, 11));
    expect(s.enrollment(C, U).status).toBe('completed');
    const e = s.and(lesson(C, 12)).enrollment(C, U);
    expect(e).toMatchObject({ status: 'in_progress', completed_at: null, progress_percent: 66.67, remote_data: { user_completion_rate: 66 } });
  });

  it.each([
    ['unpublishing', () => lesson(C, 12, { status: 'draft' })],
    ['deleting', () => lessonDeleted(C, 12)],
  ])('%s the missing lesson completes the enrollment', (_, change) => {
    const s = given(...courseWithTwoLessons(), lesson(C, 12), membership(C, U, 'joined'), completed(C, U, 10, { at: 7 }), completed(C, U, 11, { at: 8 }));
    expect(s.enrollment(C, U)).toMatchObject({ status: 'in_progress', progress_percent: 66.67 });
    expect(s.and(change()).enrollment(C, U)).toMatchObject({ status: 'completed', completed_at: ms(8), progress_percent: 100 });
  });

  it('progress_percent and user_completion_rate: 1/3 → 33.33 / 33', () => {
    const e = given(course(C), lesson(C, 10), lesson(C, 11), lesson(C, 12), membership(C, U, 'joined'), completed(C, U, 10)).enrollment(C, U);
    expect(e.progress_percent).toBe(33.33);
    expect(e.remote_data.user_completion_rate).toBe(33);
  });

  it('a course with no counting lesson: 0 %, never complete', () => {
    const e = given(course(C), lesson(C, 10, { status: 'draft' }), membership(C, U, 'joined'), completed(C, U, 10)).enrollment(C, U);
    expect(e).toMatchObject({ status: 'in_progress', progress_percent: 0, completed_at: null, remote_data: { num_lessons: 0, user_completion_rate: 0 } });
  });

  it('time_spent_seconds sums distinct completion facts carrying it (0 counts), null when none', () => {
    const base = [...courseWithTwoLessons(), membership(C, U, 'joined')];
    expect(given(...base, completed(C, U, 10)).enrollment(C, U).time_spent_seconds).toBeNull();
    expect(given(...base, completed(C, U, 10, { timeSpentSeconds: 0 })).enrollment(C, U).time_spent_seconds).toBe(0);
    const done = completed(C, U, 10, { timeSpentSeconds: 300 });
    const e = given(...base, done, { ...done }, completed(C, U, 10, { timeSpentSeconds: 45 }), completed(C, U, 11), uncompleted(C, U, 11)).enrollment(C, U);
    expect(e.time_spent_seconds).toBe(345);
  });

  it('progress before the membership creates no enrollment, and counts once it exists', () => {
    const s = given(...courseWithTwoLessons(), completed(C, U, 10, { at: 1 }), graded(C, U, 1));
    expect(s.derived(C, U)).toBeUndefined();
    const direct = deriveEnrollment(indexFacts(s.facts).enrollmentFacts(C, U), DEFAULT_CTX);
    expect(direct).toMatchObject({ exists: false, enrollment: null, nextDeadline: null });
    const e = s.and(membership(C, U, 'joined', { at: 2 })).enrollment(C, U);
    expect(e).toMatchObject({ status: 'passed', started_at: ms(1), remote_data: { num_lessons_completed: 1 } });
  });
});

describe('deriveEnrollment: grades', () => {
  const base = () => [...courseWithTwoLessons(), membership(C, U, 'joined')];

  it('no grade: score, attempt_number and attempts_count are null', () => {
    expect(given(...base()).enrollment(C, U)).toMatchObject({ score: null, attempt_number: null, attempts_count: null });
  });

  it('the highest attempt_number wins even when older', () => {
    const e = given(...base(), graded(C, U, 3, { at: 1, score: 90, passed: true }), graded(C, U, 2, { at: 5, score: 10, passed: false })).enrollment(C, U);
    expect(e).toMatchObject({ status: 'passed', score: 90, attempt_number: 3, attempts_count: 2 });
  });

  it('tie on attempt_number: the latest fact wins; attempts_count counts distinct numbers', () => {
    const e = given(
      ...base(),
      graded(C, U, 1, { at: 1, score: 20, passed: false }),
      graded(C, U, 2, { at: 2, score: 95, passed: true }),
      graded(C, U, 2, { at: 3, score: 40, passed: false }),
    ).enrollment(C, U);
    expect(e).toMatchObject({ status: 'failed', score: 40, attempt_number: 2, attempts_count: 2 });
  });

  it('tie on attempt_number and time: source then id decide', () => {
    const e = given(
      ...base(),
      graded(C, U, 2, { at: 3, source: '/b', score: 70, passed: true }),
      graded(C, U, 2, { at: 3, source: '/a', score: 30, passed: false }),
    ).enrollment(C, U);
    expect(e).toMatchObject({ status: 'passed', score: 70, attempts_count: 1 });
  });
});

describe('deriveEnrollment: user, erasure, course, urls, remote_data', () => {
  it('user: real_name, else username; emails copied', () => {
    const s = given(course(C), membership(C, U, 'joined'));
    expect(s.and(user(U, { real_name: 'Grace H.' })).enrollment(C, U).user).toEqual({
      id: '7',
      name: 'Grace H.',
      emails: [{ email: 'user7@example.com', type: 'work', is_primary: true }],
    });
    expect(s.and(user(U, { real_name: '' })).enrollment(C, U).user.name).toBe('user7');
    expect(s.and(user(U, { real_name: '   ' })).enrollment(C, U).user.name).toBe('user7');
  });

  it('user: a real_name or username of invisible characters only counts as empty', () => {
    const s = given(course(C), membership(C, U, 'joined'));
    for (const invisible of ['\u200b', '\u200b \u200c\u200d', '\u2060\ufeff', '\u00ad', '\u3164', '\u034f\ufe0f', '\u202e\u2066', '\u{e0020}']) {
      expect({ invisible, name: s.and(user(U, { real_name: invisible })).enrollment(C, U).user.name }).toEqual({ invisible, name: 'user7' });
      expect({ invisible, name: s.and(user(U, { real_name: '', username: invisible })).enrollment(C, U).user.name }).toEqual({ invisible, name: null });
    }
    // Visible text keeps its invisible characters: the name is emitted as sent.
    expect(s.and(user(U, { real_name: 'Grace\u200bH.' })).enrollment(C, U).user.name).toBe('Grace\u200bH.');
    expect(s.and(user(U, { real_name: '\u200b', username: 'grace\u200d' })).enrollment(C, U).user.name).toBe('grace\u200d');
  });

  it('a user never seen: name null, emails []', () => {
    expect(given(course(C), membership(C, U, 'joined')).enrollment(C, U).user).toEqual({ id: '7', name: null, emails: [] });
  });

  it('erasure: a deleted user leaves no name or email, and a late older upsert does not bring them back', () => {
    const s = given(
      course(C),
      user(U, { at: 1, username: 'grace', real_name: 'Grace Hopper', emails: [{ email: 'g@example.com', type: 'work', is_primary: true }] }),
      membership(C, U, 'joined'),
      userDeleted(U, { at: 10 }),
      user(U, { at: 5, username: 'grace', real_name: 'Grace Hopper' }),
    );
    const d = s.derived(C, U);
    expect(d).toMatchObject({ exists: true, deleted: true, userDeleted: true, courseDeleted: false, nextDeadline: null });
    expect(d?.enrollment?.user).toEqual({ id: '7', name: null, emails: [] });
    expect(JSON.stringify(d)).not.toMatch(/grace|hopper|example\.com/i);
    const back = s.and(user(U, { at: 11, username: 'grace', real_name: '' })).derived(C, U);
    expect(back).toMatchObject({ deleted: false, enrollment: { user: { name: 'grace' } } });
  });

  it('erasure: the latest fact decides for the user themself; a newer upsert brings the name back', () => {
    const s = given(course(C), membership(C, U, 'joined'), user(U, { at: 1 }), userDeleted(U, { at: 2 }));
    expect(s.enrollment(C, U).user.name).toBeNull();
    expect(s.and(user(U, { at: 3, real_name: 'Back' })).enrollment(C, U).user.name).toBe('Back');
  });

  it('urls: template filled with id and URI-encoded slug', () => {
    const s = given(course(C, { slug: 'a b/ç' }), membership(C, U, 'joined'));
    expect(s.enrollment(C, U).urls).toEqual([{ url: 'https://lms.example/courses/1/a%20b%2F%C3%A7', type: 'course' }]);
    expect(s.when({ courseUrlTemplate: '' }).enrollment(C, U).urls).toEqual([]);
    expect(s.when({ courseUrlTemplate: 'https://x/{id}?again={id}' }).enrollment(C, U).urls).toEqual([{ url: 'https://x/1?again=1', type: 'course' }]);
  });

  it('urls: [] when the template needs a slug the course does not have', () => {
    const unknown = given(membership(C, U, 'joined'));
    expect(unknown.enrollment(C, U).urls).toEqual([]);
    expect(given(course(C, { slug: '' }), membership(C, U, 'joined')).enrollment(C, U).urls).toEqual([]);
    expect(unknown.when({ courseUrlTemplate: 'https://x/c/{id}' }).enrollment(C, U).urls).toEqual([{ url: 'https://x/c/1', type: 'course' }]);
  });

  it('course and remote_data', () => {
    const e = given(course(C, { name: 'Kafka 101', type: 'structured', privacy: '' }), lesson(C, 10), membership(C, U, 'joined'), completed(C, U, 10)).enrollment(C, U);
    expect(e.id).toBe('1:7');
    expect(e.course).toEqual({ id: '1', title: 'Kafka 101' });
    expect(e.remote_data).toEqual({
      course_id: 1,
      user_id: 7,
      join_status: 'joined',
      course_type: 'structured',
      course_privacy: '',
      num_lessons: 1,
      num_sections: 1,
      num_lessons_completed: 1,
      user_completion_rate: 100,
    });
  });
});

describe('deriveEnrollment: deadlines', () => {
  const withAssignment = (assignment: { due_at?: string; access_expires_at?: string }) =>
    given(...courseWithTwoLessons(), membership(C, U, 'joined', { at: 1, assignment }));

  it('the next of due_at / access_expires_at after now, then none once expired', () => {
    const s = withAssignment({ due_at: ms(100), access_expires_at: ms(200) });
    expect(s.when({ now: ms(50) }).derived(C, U)).toMatchObject({ nextDeadline: ms(100), enrollment: { status: 'enrolled' } });
    expect(s.when({ now: ms(100) }).derived(C, U)).toMatchObject({ nextDeadline: ms(200), enrollment: { status: 'overdue' } });
    expect(s.when({ now: ms(200) }).derived(C, U)).toMatchObject({ nextDeadline: null, enrollment: { status: 'expired' } });
  });

  it('access expiring before the due date makes the due date irrelevant', () => {
    const s = withAssignment({ due_at: ms(300), access_expires_at: ms(200) });
    expect(s.when({ now: ms(50) }).derived(C, U)?.nextDeadline).toBe(ms(200));
  });

  it('rounded up to the millisecond', () => {
    const s = withAssignment({ due_at: '2026-01-01T01:00:00.000001Z' });
    expect(s.when({ now: ms(0) }).derived(C, U)?.nextDeadline).toBe('2026-01-01T01:00:00.001Z');
  });

  it('none when the status does not depend on the clock, or the enrollment is deleted', () => {
    const s = withAssignment({ due_at: ms(100) }).when({ now: ms(50) });
    expect(s.and(completed(C, U, 10), completed(C, U, 11)).derived(C, U)?.nextDeadline).toBeNull();
    expect(s.and(graded(C, U, 1)).derived(C, U)?.nextDeadline).toBeNull();
    expect(s.and(membership(C, U, 'invited', { at: 2 })).derived(C, U)?.nextDeadline).toBeNull();
    expect(s.and(courseDeleted(C)).derived(C, U)?.nextDeadline).toBeNull();
    expect(
      withAssignment({})
        .when({ now: ms(50) })
        .derived(C, U)?.nextDeadline,
    ).toBeNull();
  });
});

describe('deriveEnrollment: erasure of a name in other users\' enrollments (rules.md "Deletion and erasure", last point)', () => {
  const A = 903; // the inviter
  const invited = (o: { at?: number } = {}) => membership(C, U, 'invited', { ...o, actor: { id: A, name: 'Zelda Uniquename' } });

  it('an inviter never deleted keeps their name', () => {
    expect(given(course(C), user(A), invited()).enrollment(C, U).assigned_by).toEqual({ id: '903', name: 'Zelda Uniquename' });
  });

  it('the inviter deleted after the invitation: name null (other arrival orders checked by given)', () => {
    const e = given(course(C), user(A, { at: 1 }), invited({ at: 2 }), userDeleted(A, { at: 3 })).enrollment(C, U);
    expect(e.assigned_by).toEqual({ id: '903', name: null });
  });

  it('the inviter deleted before the invitation: name null', () => {
    expect(given(course(C), userDeleted(A, { at: 1 }), invited({ at: 2 })).enrollment(C, U).assigned_by).toEqual({ id: '903', name: null });
  });

  it('deleted then upserted again, with an older invitation: still null, for good', () => {
    const e = given(course(C), userDeleted(A, { at: 1 }), user(A, { at: 2 }), invited({ at: 3 }), user(A, { at: 4 })).enrollment(C, U);
    expect(e.assigned_by).toEqual({ id: '903', name: null });
  });

  it('a deletion fact of someone else changes nothing', () => {
    expect(given(course(C), userDeleted(904), invited()).enrollment(C, U).assigned_by).toEqual({ id: '903', name: 'Zelda Uniquename' });
  });

  it('a user who invited themself: erased as actor too', () => {
    const e = given(course(C), membership(C, A, 'invited', { actor: { id: A, name: 'Zelda' } }), userDeleted(A), user(A)).enrollment(C, A);
    expect(e.assigned_by).toEqual({ id: '903', name: null });
    expect(e.user.name).toBe('User 903'); // their own profile came back with the newer upsert
  });
});
