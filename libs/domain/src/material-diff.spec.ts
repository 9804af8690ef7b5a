import type { CourseEnrollment } from './course-enrollment';
import { COURSE_ENROLLMENT_FIELDS, jsonEqual, materialDiff, stampUpdatedAt } from './material-diff';
import { completed, course, lesson, membership, ms, user } from './testing/facts';
import { given } from './testing/given';

const scenario = () => given(course(1), lesson(1, 10), user(7), membership(1, 7, 'joined', { at: 1, customFields: { a: 1, b: [1, { c: 2 }] } }));

describe('materialDiff', () => {
  it('created: every field that is not null, in field order, without updated_at', () => {
    const next = scenario().enrollment(1, 7);
    expect(materialDiff(null, next)).toEqual([
      'id',
      'user',
      'course',
      'status',
      'enrolled_at',
      'progress_percent',
      'is_mandatory',
      'urls',
      'created_at',
      'custom_fields',
      'remote_data',
    ]);
  });

  it('no-op: deep-equal objects (whatever the key order, updated_at aside) give []', () => {
    const a = scenario().enrollment(1, 7);
    const b = structuredClone(a);
    b.custom_fields = { b: [1, { c: 2 }], a: 1 };
    expect(materialDiff(a, b)).toEqual([]);
    const withStamp: CourseEnrollment = { ...a, updated_at: ms(1) };
    const restamped: CourseEnrollment = { ...a, updated_at: ms(2) };
    expect(materialDiff(withStamp, restamped)).toEqual([]);
  });

  it('changed: exactly the top-level fields that differ, deep', () => {
    const s = scenario();
    const prev = s.enrollment(1, 7);
    const next = s.and(completed(1, 7, 10, { at: 2 })).enrollment(1, 7);
    expect(materialDiff(prev, next)).toEqual(['status', 'started_at', 'last_activity_at', 'completed_at', 'progress_percent', 'remote_data']);
    const nested = structuredClone(prev);
    (nested.custom_fields.b as unknown[])[1] = { c: 3 };
    expect(materialDiff(prev, nested)).toEqual(['custom_fields']);
  });
});

describe('stampUpdatedAt', () => {
  it('sets updated_at on creation and on material change, keeps it otherwise', () => {
    const s = scenario();
    const created = stampUpdatedAt(null, s.enrollment(1, 7), '2026-05-01T00:00:00.123456Z');
    expect(created.enrollment.updated_at).toBe('2026-05-01T00:00:00.123Z');
    expect(Object.keys(created.enrollment)).toEqual([...COURSE_ENROLLMENT_FIELDS]);
    expect(created.changedFields).toContain('id');

    const same = stampUpdatedAt(created.enrollment, s.enrollment(1, 7), '2026-06-01T00:00:00Z');
    expect(same).toEqual({ enrollment: created.enrollment, changedFields: [] });

    const changed = stampUpdatedAt(created.enrollment, s.and(completed(1, 7, 10)).enrollment(1, 7), '2026-06-01T00:00:00Z');
    expect(changed.enrollment.updated_at).toBe('2026-06-01T00:00:00.000Z');
    expect(changed.changedFields).toContain('status');
  });
});

describe('jsonEqual', () => {
  it.each([
    [{ a: 1, b: 2 }, { b: 2, a: 1 }, true],
    [{ a: undefined }, {}, true],
    [[1, 2], [2, 1], false],
    [{ a: [] }, { a: {} }, false],
    [null, {}, false],
    [{ a: null }, {}, false],
    ['1', 1, false],
  ])('%j vs %j → %s', (a, b, expected) => {
    expect(jsonEqual(a, b)).toBe(expected);
    expect(jsonEqual(b, a)).toBe(expected);
  });
});
