import { avgCompletionRate, avgCompletionRateOfSum } from './course-view';
import { completed, course, courseDeleted, lesson, lessonDeleted, membership, section, sectionDeleted, uncompleted } from './testing/facts';
import { given } from './testing/given';

describe('deriveCourseView', () => {
  const structure = () => [
    course(1, { name: 'Kafka' }),
    section(1, 1, { name: 'Intro', position: 2 }),
    section(1, 2, { name: 'Basics', position: 1 }),
    section(1, 3, { name: 'Also first', position: 1 }),
    section(1, 4, { name: 'Gone', position: 0 }),
    sectionDeleted(1, 4),
    lesson(1, 10, { section_id: 1 }),
    lesson(1, 11, { section_id: 1 }),
    lesson(1, 20, { section_id: 2 }),
    lesson(1, 21, { section_id: 2, status: 'draft' }),
    lesson(1, 40, { section_id: 4 }),
    lesson(1, 50, { section_id: 5 }), // section never seen
  ];

  it('sections_order: non-deleted sections by position then id; sections count counting lessons', () => {
    const v = given(...structure()).view(1);
    expect(v.sections_order).toEqual([2, 3, 1]);
    expect(v.sections).toEqual([
      { id: 2, name: 'Basics', num_lessons: 1, num_lessons_completed: 0 },
      { id: 3, name: 'Also first', num_lessons: 0, num_lessons_completed: 0 },
      { id: 1, name: 'Intro', num_lessons: 2, num_lessons_completed: 0 },
    ]);
    expect(v).toMatchObject({ known: true, deleted: false, num_lessons: 4, num_sections: 3, join_status: null, num_lessons_completed: 0, user_completion_rate: 0 });
    expect(v.course?.name).toBe('Kafka');
  });

  it("a user's completions and join_status", () => {
    const v = given(
      ...structure(),
      membership(1, 7, 'joined'),
      completed(1, 7, 10),
      completed(1, 7, 20),
      completed(1, 7, 40), // its section is deleted
      completed(1, 7, 11),
      uncompleted(1, 7, 11),
      completed(1, 8, 11), // another user
    ).view(1, 7);
    expect(v.sections.map((s) => s.num_lessons_completed)).toEqual([1, 0, 1]);
    expect(v).toMatchObject({ join_status: 'joined', num_lessons_completed: 2, user_completion_rate: 50 });
  });

  it('a deleted course has no sections or lessons; a course never seen is not known', () => {
    const v = given(...structure(), courseDeleted(1)).view(1);
    expect(v).toMatchObject({ known: true, deleted: true, sections_order: [], sections: [], num_lessons: 0, num_sections: 0 });
    expect(given(lesson(2, 10), lessonDeleted(2, 11)).view(2)).toMatchObject({ known: false, deleted: false, course: null, num_lessons: 1 });
  });
});

describe('deriveCourseView: a deleted course keeps its last known fields (api.md)', () => {
  it('shows the latest upsert before the deletion, whatever the arrival order', () => {
    const v = given(course(1, { at: 1, name: 'Old' }), course(1, { at: 2, name: 'Kafka', slug: 'kafka', type: 'scheduled' }), courseDeleted(1, { at: 3 })).view(1);
    expect(v).toMatchObject({ deleted: true, course: { id: 1, name: 'Kafka', slug: 'kafka', type: 'scheduled' } });
  });

  it('an upsert older than the deletion arriving late updates the last known fields but does not bring the course back', () => {
    const v = given(course(1, { at: 1, name: 'Old' }), courseDeleted(1, { at: 5 }), course(1, { at: 3, name: 'Renamed' })).view(1);
    expect(v).toMatchObject({ deleted: true, course: { name: 'Renamed' } });
  });

  it('a newer upsert brings the course back', () => {
    const v = given(course(1, { at: 1 }), courseDeleted(1, { at: 2 }), course(1, { at: 3, name: 'Back' })).view(1);
    expect(v).toMatchObject({ deleted: false, course: { name: 'Back' } });
  });

  it('a course only ever seen deleted has no fields', () => {
    expect(given(courseDeleted(1)).view(1)).toMatchObject({ known: true, deleted: true, course: null });
  });
});

describe('avgCompletionRate', () => {
  it.each([
    [[], 0],
    [[100], 100],
    [[50, 51], 51], // 50.5 rounds half up
    [[0, 1], 1],
    [[33, 33, 34], 33],
    [[66, 67, 67], 67], // 66.67
    [[0, 0, 1], 0],
    [[10, 20, 30, 41], 25], // 25.25
  ])('%j → %i', (rates, expected) => {
    expect(avgCompletionRate(rates)).toBe(expected);
    // the same from the per-course counters (sum and count) the read API keeps
    expect(
      avgCompletionRateOfSum(
        rates.reduce((a, b) => a + b, 0),
        rates.length,
      ),
    ).toBe(expected);
  });
});
