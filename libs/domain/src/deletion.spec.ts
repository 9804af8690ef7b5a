import type { CourseEnrollment } from './course-enrollment';
import { deletedEnrollmentState, erasePersonalData } from './deletion';
import { COURSE_ENROLLMENT_FIELDS } from './material-diff';
import { course, lesson, completed, membership, user } from './testing/facts';
import { given } from './testing/given';

/** A published state: user 7 invited by 903, completed at 100%. */
const published = (): CourseEnrollment => ({
  ...given(
    course(1),
    lesson(1, 10),
    user(7),
    membership(1, 7, 'invited', { actor: { id: 903, name: 'Zelda' } }),
    membership(1, 7, 'joined'),
    completed(1, 7, 10),
  ).enrollment(1, 7),
  updated_at: '2026-11-01T09:00:00.000Z',
});
const NOW = '2026-11-02T10:00:00.123456Z';

describe('deletedEnrollmentState (events.md: a deleted event carries the last published state)', () => {
  it('a course deletion: the last published state as it was, with only updated_at new', () => {
    const last = published();
    const { enrollment, changedFields } = deletedEnrollmentState(last, { userDeleted: false, erasedActorIds: [] }, NOW);
    expect(enrollment).toEqual({ ...last, updated_at: '2026-11-02T10:00:00.123Z' });
    expect(enrollment).toMatchObject({ status: 'completed', progress_percent: 100, course: { title: 'Course 1' } });
    expect(Object.keys(enrollment)).toEqual(COURSE_ENROLLMENT_FIELDS); // documented field order
    expect(changedFields).toEqual([]);
  });

  it('a user erasure: no name and no emails of that user', () => {
    const last = published();
    const { enrollment, changedFields } = deletedEnrollmentState(last, { userDeleted: true, erasedActorIds: [] }, NOW);
    expect(enrollment.user).toEqual({ id: '7', name: null, emails: [] });
    expect(enrollment.assigned_by).toEqual({ id: '903', name: 'Zelda' });
    expect(changedFields).toEqual(['user']);
  });

  it('an erased actor: assigned_by keeps the id, loses the name', () => {
    const { enrollment, changedFields } = deletedEnrollmentState(published(), { userDeleted: false, erasedActorIds: [5, 903] }, NOW);
    expect(enrollment.assigned_by).toEqual({ id: '903', name: null });
    expect(changedFields).toEqual(['assigned_by']);
  });
});

describe('erasePersonalData', () => {
  it('changes nothing without erasures and never mutates its input', () => {
    const last = published();
    const copy = structuredClone(last);
    expect(erasePersonalData(last, { userDeleted: false, erasedActorIds: [904] })).toEqual(copy);
    erasePersonalData(last, { userDeleted: true, erasedActorIds: [903] });
    expect(last).toEqual(copy);
  });
});
