import { EXAMPLE_COURSE_ENROLLMENT } from '@app/contracts';
import { sourceSchemaProblems } from './source-schemas';

describe('source schemas (transcribed from the seeds)', () => {
  it('accept the contract example and the nulls the contract explains', () => {
    expect(sourceSchemaProblems('CourseEnrollments', EXAMPLE_COURSE_ENROLLMENT)).toEqual([]);
    const erased = { ...EXAMPLE_COURSE_ENROLLMENT, user: { id: '7', name: null, emails: [] }, assigned_by: { id: '3', name: null }, score: null };
    expect(sourceSchemaProblems('CourseEnrollments', erased)).toEqual([]);
  });

  it('reject a field the document does not have, a null it does not allow, a wrong enum or format', () => {
    expect(sourceSchemaProblems('CourseEnrollments', { ...EXAMPLE_COURSE_ENROLLMENT, extra: 1 })).toEqual([
      expect.stringMatching(/must NOT have additional properties.*extra/),
    ]);
    expect(sourceSchemaProblems('CourseEnrollments', { ...EXAMPLE_COURSE_ENROLLMENT, is_mandatory: null })).toEqual(['CourseEnrollments/is_mandatory must be boolean']);
    expect(sourceSchemaProblems('CourseEnrollments', { ...EXAMPLE_COURSE_ENROLLMENT, status: 'done' })).toEqual([
      expect.stringMatching(/\/status must be equal to one of the allowed values/),
    ]);
    expect(sourceSchemaProblems('CourseEnrollments', { ...EXAMPLE_COURSE_ENROLLMENT, created_at: 'yesterday' })).toEqual([
      expect.stringMatching(/\/created_at must match format "date-time"/),
    ]);
    expect(sourceSchemaProblems('CourseEnrollments', { ...EXAMPLE_COURSE_ENROLLMENT, user: { id: 7, name: 'x', emails: [] } })).toEqual([
      'CourseEnrollments/user/id must be string',
    ]);
  });

  it('Course User Detail requires name and type; the Course Dashboard has no description', () => {
    expect(sourceSchemaProblems('CourseUserDetail', { id: 1 })).toEqual([
      "CourseUserDetail/ must have required property 'name'",
      "CourseUserDetail/ must have required property 'type'",
    ]);
    expect(sourceSchemaProblems('CourseUserDetail', { id: 1, name: null, type: 'self-paced' })).toEqual(['CourseUserDetail/name must be string']);
    expect(sourceSchemaProblems('CourseDashboard', { id: 1, description: '' })).toEqual([expect.stringMatching(/additional properties.*description/)]);
    expect(sourceSchemaProblems('CourseDashboard', { id: 1, join_status: null, created_by: null })).toEqual([]);
  });
});
