/**
 * Builders of input messages exactly as upstream services send them (structured CloudEvents on
 * the topics of events.md), used by the demo, the end-to-end tests, the benchmark and the drills.
 */
export interface InputMessage {
  topic: 'courses' | 'memberships' | 'lessonProgress' | 'users';
  key: string;
  value: string;
}

export interface EventOptions {
  time: string;
  id: string;
  source?: string;
}

const SOURCE = '/community';

function envelope(type: string, data: object, o: EventOptions): string {
  return JSON.stringify({
    specversion: '1.0',
    id: o.id,
    source: o.source ?? SOURCE,
    type,
    time: o.time,
    datacontenttype: 'application/json',
    data,
  });
}

export const events = {
  courseUpserted: (course: { id: number; name: string; type?: string; slug?: string; privacy?: string }, o: EventOptions): InputMessage => ({
    topic: 'courses',
    key: String(course.id),
    value: envelope('lms.course.upserted', { course: { type: 'self-paced', ...course } }, o),
  }),
  courseDeleted: (courseId: number, o: EventOptions): InputMessage => ({
    topic: 'courses',
    key: String(courseId),
    value: envelope('lms.course.deleted', { course_id: courseId }, o),
  }),
  sectionUpserted: (courseId: number, section: { id: number; name: string; position: number }, o: EventOptions): InputMessage => ({
    topic: 'courses',
    key: String(courseId),
    value: envelope('lms.section.upserted', { course_id: courseId, section }, o),
  }),
  sectionDeleted: (courseId: number, sectionId: number, o: EventOptions): InputMessage => ({
    topic: 'courses',
    key: String(courseId),
    value: envelope('lms.section.deleted', { course_id: courseId, section_id: sectionId }, o),
  }),
  lessonUpserted: (
    courseId: number,
    lesson: { id: number; section_id: number; name: string; status: 'draft' | 'published'; position: number; type?: 'lesson' | 'quiz' },
    o: EventOptions,
  ): InputMessage => ({
    topic: 'courses',
    key: String(courseId),
    value: envelope('lms.lesson.upserted', { course_id: courseId, lesson }, o),
  }),
  lessonDeleted: (courseId: number, lessonId: number, o: EventOptions): InputMessage => ({
    topic: 'courses',
    key: String(courseId),
    value: envelope('lms.lesson.deleted', { course_id: courseId, lesson_id: lessonId }, o),
  }),
  membershipChanged: (
    m: {
      course_id: number;
      user_id: number;
      join_status: 'creator' | 'manager' | 'joined' | 'invited' | 'requested' | null;
      actor?: { id: number; name: string };
      assignment?: { due_at?: string | null; access_expires_at?: string | null; is_mandatory?: boolean };
      custom_fields?: Record<string, unknown>;
    },
    o: EventOptions,
  ): InputMessage => ({
    topic: 'memberships',
    key: `${m.course_id}:${m.user_id}`,
    value: envelope('lms.membership.changed', m, o),
  }),
  lessonCompleted: (p: { course_id: number; lesson_id: number; user_id: number; time_spent_seconds?: number }, o: EventOptions): InputMessage => ({
    topic: 'lessonProgress',
    key: `${p.course_id}:${p.user_id}`,
    value: envelope('lms.lesson.completed', p, o),
  }),
  lessonUncompleted: (p: { course_id: number; lesson_id: number; user_id: number }, o: EventOptions): InputMessage => ({
    topic: 'lessonProgress',
    key: `${p.course_id}:${p.user_id}`,
    value: envelope('lms.lesson.uncompleted', p, o),
  }),
  courseGraded: (g: { course_id: number; user_id: number; attempt_number: number; score: number; passed: boolean }, o: EventOptions): InputMessage => ({
    topic: 'lessonProgress',
    key: `${g.course_id}:${g.user_id}`,
    value: envelope('lms.course.graded', g, o),
  }),
  userUpserted: (
    u: { id: number; username: string; real_name?: string; avatar?: string | null; emails?: { email: string; type: string; is_primary: boolean }[] },
    o: EventOptions,
  ): InputMessage => ({
    topic: 'users',
    key: String(u.id),
    value: envelope('lms.user.upserted', { user: u }, o),
  }),
  userDeleted: (userId: number, o: EventOptions): InputMessage => ({
    topic: 'users',
    key: String(userId),
    value: envelope('lms.user.deleted', { user_id: userId }, o),
  }),
};

/** A clock for builders: each call is one millisecond after the previous, from `start`. */
export function clock(start = '2026-11-01T09:00:00.000Z'): (advanceMs?: number) => string {
  let t = Date.parse(start);
  return (advanceMs = 1) => {
    t += advanceMs;
    return new Date(t).toISOString();
  };
}
