import { foldFacts, indexFacts } from './fold';
import { completed, course, courseDeleted, lesson, membership, user, userDeleted } from './testing/facts';
import { DEFAULT_CTX, given } from './testing/given';

describe('foldFacts', () => {
  it('derives every enrollment with a membership fact, keyed and ordered by course then user', () => {
    const result = given(
      course(2),
      course(10),
      membership(10, 1, 'joined'),
      membership(2, 30, 'joined'),
      membership(2, 4, 'invited'),
      completed(3, 4, 1), // no membership: no enrollment
    ).fold();
    expect([...result.keys()]).toEqual(['2:4', '2:30', '10:1']);
    expect(result.get('2:4')).toMatchObject({ exists: true, courseId: 2, userId: 4, enrollment: { status: 'assigned' } });
  });

  it('keeps deleted enrollments, flagged', () => {
    const result = given(
      course(1),
      course(2),
      courseDeleted(2),
      user(5),
      userDeleted(6),
      membership(1, 5, 'joined'),
      membership(2, 5, 'joined'),
      membership(1, 6, 'joined'),
    ).fold();
    expect([...result.values()].map((d) => [d.id, d.deleted, d.courseDeleted, d.userDeleted])).toEqual([
      ['1:5', false, false, false],
      ['1:6', true, false, true],
      ['2:5', true, true, false],
    ]);
  });

  it('treats a duplicate (same source+id) as one event, keeping the first seen', () => {
    const a = membership(1, 5, 'joined', { id: 'dup', at: 1 });
    const b = membership(1, 5, null, { id: 'dup', at: 2 }); // a contract violation: same event, other content
    expect(foldFacts([a, b], DEFAULT_CTX).get('1:5')?.enrollment?.status).toBe('enrolled');
    expect(foldFacts([b, a], DEFAULT_CTX).get('1:5')?.enrollment?.status).toBe('withdrawn');
  });

  it("indexFacts keeps every user with a deletion fact and each course's latest upsert, whatever came after", () => {
    const index = indexFacts([
      user(1, { at: 1 }),
      userDeleted(1, { at: 2 }),
      user(1, { at: 3 }),
      userDeleted(2),
      user(3),
      course(4, { at: 1, name: 'kept' }),
      courseDeleted(4, { at: 2 }),
    ]);
    expect([...index.erasedUserIds].sort()).toEqual([1, 2]);
    const cf = index.courseFacts(4);
    expect(cf.course?.deleted).toBe(true);
    expect(cf.lastUpsert?.course.name).toBe('kept');
  });

  it('indexFacts exposes latest registers per course', () => {
    const index = indexFacts([course(1, { at: 1, name: 'old' }), course(1, { at: 2, name: 'new' }), lesson(1, 10, { at: 3 }), lesson(1, 10, { at: 2, name: 'older' })]);
    const cf = index.courseFacts(1);
    expect(index.courses).toEqual([1]);
    expect(cf.course && !cf.course.deleted && cf.course.course.name).toBe('new');
    expect(cf.lessons).toHaveLength(1);
    expect(cf.lessons[0].meta.time).toBe(lesson(1, 10, { at: 3 }).meta.time);
  });
});
