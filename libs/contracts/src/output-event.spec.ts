import type { CourseEnrollment } from '@app/domain';
import { COURSE_ENROLLMENT_FIELDS } from '@app/domain';
import type { JsonSchema } from './schema';
import {
  buildOutputEvent,
  courseEnrollmentSchema,
  decodeOutputEvent,
  encodeBinary,
  encodeStructured,
  EXAMPLE_COURSE_ENROLLMENT,
  OutputEventInput,
  outputKey,
} from './output-event';
import { ContractViolation } from './violation';

const input = (overrides: Partial<OutputEventInput> = {}): OutputEventInput => ({
  id: '0b7e0f3e-3c8a-4a8c-9a53-1b1a0b1b9d10',
  time: '2026-11-20T10:15:31.004Z',
  type: 'updated',
  version: 4,
  changedFields: ['status', 'progress_percent', 'last_activity_at', 'completed_at'],
  cause: { source: '/community', id: 'evt-9381', type: 'lms.lesson.completed' },
  courseEnrollment: EXAMPLE_COURSE_ENROLLMENT,
  ...overrides,
});

describe('output events', () => {
  it('builds the CloudEvent of events.md, attribute for attribute and in that order', () => {
    const event = buildOutputEvent(input());
    expect(event).toStrictEqual({
      specversion: '1.0',
      id: '0b7e0f3e-3c8a-4a8c-9a53-1b1a0b1b9d10',
      source: '/enrollment-sync',
      type: 'lms.course_enrollment.updated',
      time: '2026-11-20T10:15:31.004Z',
      subject: 'course-enrollments/42:7',
      datacontenttype: 'application/json',
      data: {
        version: 4,
        changed_fields: ['status', 'progress_percent', 'last_activity_at', 'completed_at'],
        cause: { source: '/community', id: 'evt-9381', type: 'lms.lesson.completed' },
        course_enrollment: EXAMPLE_COURSE_ENROLLMENT,
      },
    });
    expect(Object.keys(event)).toEqual(['specversion', 'id', 'source', 'type', 'time', 'subject', 'datacontenttype', 'data']);
    expect(Object.keys(event.data)).toEqual(['version', 'changed_fields', 'cause', 'course_enrollment']);
    expect(outputKey(event)).toBe('42:7');
  });

  it.each([
    ['created', 'lms.course_enrollment.created'],
    ['deleted', 'lms.course_enrollment.deleted'],
    ['lms.course_enrollment.updated', 'lms.course_enrollment.updated'],
  ] as const)('maps the type %s to %s', (type, cloudType) => {
    expect(buildOutputEvent(input({ type })).type).toBe(cloudType);
  });

  it('carries a job cause', () => {
    expect(buildOutputEvent(input({ cause: { job: 'deadline-sweep' } })).data.cause).toStrictEqual({ job: 'deadline-sweep' });
  });

  it('copies only the cause fields of the contract', () => {
    const cause = { source: '/community', id: 'e', type: 'lms.user.deleted', secret: 'x' };
    expect(buildOutputEvent(input({ cause })).data.cause).toStrictEqual({ source: '/community', id: 'e', type: 'lms.user.deleted' });
  });

  it('normalises the time to UTC with milliseconds', () => {
    expect(buildOutputEvent(input({ time: '2026-11-20T11:15:31.004999+01:00' })).time).toBe('2026-11-20T10:15:31.004Z');
    expect(buildOutputEvent(input({ time: new Date(Date.UTC(2026, 10, 20, 10, 15, 31, 4)) })).time).toBe('2026-11-20T10:15:31.004Z');
  });

  it('does not alias the caller’s changed fields', () => {
    const changedFields: OutputEventInput['changedFields'] = ['status'];
    const event = buildOutputEvent(input({ changedFields }));
    expect(event.data.changed_fields).toEqual(['status']);
    expect(event.data.changed_fields).not.toBe(changedFields);
  });

  it.each([
    [{ version: 0 }, /version must be an integer ≥ 1/],
    [{ version: 1.5 }, /version must be an integer ≥ 1/],
    [{ id: '' }, /id must be 1 to 256 characters/],
    [{ time: 'now' }, /time must be RFC 3339/],
    [{ type: 'archived' as never }, /unknown type archived/],
  ])('refuses to build with %p', (overrides, message) => {
    expect(() => buildOutputEvent(input(overrides))).toThrow(message);
  });

  it('round-trips through the structured encoding and the contract check', () => {
    const event = buildOutputEvent(input());
    expect(decodeOutputEvent(encodeStructured(event))).toStrictEqual(event);
  });

  it('encodes binary mode with ce_ headers and the data alone as value', () => {
    const event = buildOutputEvent(input());
    const { headers, value } = encodeBinary(event);
    expect(headers).toEqual({
      ce_specversion: '1.0',
      ce_id: event.id,
      ce_source: '/enrollment-sync',
      ce_type: 'lms.course_enrollment.updated',
      ce_time: '2026-11-20T10:15:31.004Z',
      ce_subject: 'course-enrollments/42:7',
      'content-type': 'application/json',
    });
    expect(JSON.parse(value.toString('utf8'))).toEqual(event.data);
  });

  it.each([
    ['subject', (e: any) => (e.subject = 'course-enrollments/1:2'), 'subject must be "course-enrollments/42:7", got "course-enrollments/1:2"'],
    ['status', (e: any) => (e.data.course_enrollment.status = 'done'), /^data\.course_enrollment\.status must be one of/],
    ['missing field', (e: any) => delete e.data.course_enrollment.urls, 'data.course_enrollment.urls is required'],
    [
      'time precision',
      (e: any) => (e.data.course_enrollment.due_at = '2026-12-31T23:59:59Z'),
      /^data\.course_enrollment\.due_at must be RFC 3339 in UTC with milliseconds/,
    ],
    ['user id type', (e: any) => (e.data.course_enrollment.user.id = 7), 'data.course_enrollment.user.id must be a string, got 7'],
    ['changed field', (e: any) => (e.data.changed_fields = ['colour']), /^data\.changed_fields\[0\] must be one of/],
    ['version', (e: any) => (e.data.version = 0), 'data.version must be a positive integer, got 0'],
    ['source', (e: any) => (e.source = '/other'), 'source must be "/enrollment-sync", got "/other"'],
    ['cause', (e: any) => (e.data.cause = { job: '' }), 'data.cause.job must not be empty, got ""'],
    ['id mismatch', (e: any) => (e.data.course_enrollment.remote_data.user_id = 8), 'data.course_enrollment.id must be "{remote_data.course_id}:{remote_data.user_id}"'],
  ])('decodeOutputEvent rejects a bad %s', (_label, mutate, message) => {
    const event = structuredClone(buildOutputEvent(input()));
    mutate(event);
    expect(() => decodeOutputEvent(encodeStructured(event))).toThrow(ContractViolation);
    expect(() => decodeOutputEvent(encodeStructured(event))).toThrow(message);
  });

  it('describes exactly the CourseEnrollments fields of the domain, in its order', () => {
    expect(COURSE_ENROLLMENT_FIELDS).toEqual(Object.keys(EXAMPLE_COURSE_ENROLLMENT));
    expect(COURSE_ENROLLMENT_FIELDS).toHaveLength(22);
    const named: Record<string, JsonSchema> = {};
    courseEnrollmentSchema.json({
      ref: (name, build) => {
        named[name] = build();
        return { $ref: name };
      },
    });
    expect(Object.keys(named.CourseEnrollments.properties as object)).toEqual([...COURSE_ENROLLMENT_FIELDS]);
  });

  it('the example CourseEnrollments object satisfies its schema', () => {
    const parsed: CourseEnrollment = courseEnrollmentSchema.parse(structuredClone(EXAMPLE_COURSE_ENROLLMENT), 'course_enrollment');
    expect(parsed).toStrictEqual(EXAMPLE_COURSE_ENROLLMENT);
  });
});
