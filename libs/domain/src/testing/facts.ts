/**
 * Fact factories for tests. Each fact gets a fresh id and, unless `at` is given, a time later
 * than every fact made before it, so facts written in order are in time order. `at` as a number
 * is minutes after 2026-01-01T00:00Z (auto times start at 100 000 minutes, about 69 days, so
 * small explicit numbers are older than any auto time); as a string it is any RFC 3339 instant.
 */
import type { Assignment, Course, Fact, FactMeta, JoinStatus, Lesson, MembershipFact, Section, UserProfile } from '../facts';
import { canonicalTime } from '../time';

export interface MetaOptions {
  at?: number | string;
  source?: string;
  id?: string;
}

const BASE_MS = Date.UTC(2026, 0, 1);
let seq = 0;
let autoMinutes = 100_000;

/** Canonical time `minutes` after 2026-01-01T00:00Z, plus optional microseconds. */
export function t(minutes: number, micros = 0): string {
  const iso = new Date(BASE_MS + minutes * 60_000).toISOString();
  return `${iso.slice(0, 19)}.${String(micros).padStart(6, '0')}Z`;
}

/** The same instant as `t(minutes)` in `toMillisIso` form. */
export const ms = (minutes: number): string => new Date(BASE_MS + minutes * 60_000).toISOString();

function meta(type: string, o: MetaOptions = {}): FactMeta {
  seq++;
  const time = o.at === undefined ? t(autoMinutes++) : typeof o.at === 'number' ? t(o.at) : canonicalTime(o.at);
  return { time, source: o.source ?? '/lms', id: o.id ?? `evt-${seq}`, type };
}

export const defaultCourse = (id: number): Course => ({
  id,
  name: `Course ${id}`,
  type: 'self-paced',
  slug: `course-${id}`,
  description: '',
  privacy: 'open',
  enforce_lessons_order: false,
  new_comment_notification_enabled: true,
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
  categories: [],
});

export function course(id: number, o: MetaOptions & Partial<Course> = {}): Fact {
  const { at, source, id: eventId, ...fields } = o;
  return {
    kind: 'course',
    meta: meta('lms.course.upserted', { at, source, id: eventId }),
    courseId: id,
    deleted: false,
    course: { ...defaultCourse(id), ...fields },
  };
}

export function courseDeleted(id: number, o: MetaOptions = {}): Fact {
  return { kind: 'course', meta: meta('lms.course.deleted', o), courseId: id, deleted: true };
}

export function section(courseId: number, sectionId: number, o: MetaOptions & Partial<Section> = {}): Fact {
  const { at, source, id, ...fields } = o;
  return {
    kind: 'section',
    meta: meta('lms.section.upserted', { at, source, id }),
    courseId,
    sectionId,
    deleted: false,
    section: { id: sectionId, name: `Section ${sectionId}`, position: sectionId, ...fields },
  };
}

export function sectionDeleted(courseId: number, sectionId: number, o: MetaOptions = {}): Fact {
  return { kind: 'section', meta: meta('lms.section.deleted', o), courseId, sectionId, deleted: true };
}

export function lesson(courseId: number, lessonId: number, o: MetaOptions & Partial<Lesson> = {}): Fact {
  const { at, source, id, ...fields } = o;
  return {
    kind: 'lesson',
    meta: meta('lms.lesson.upserted', { at, source, id }),
    courseId,
    lessonId,
    deleted: false,
    lesson: {
      id: lessonId,
      section_id: 1,
      name: `Lesson ${lessonId}`,
      type: 'lesson',
      status: 'published',
      position: lessonId,
      ...fields,
    },
  };
}

export function lessonDeleted(courseId: number, lessonId: number, o: MetaOptions = {}): Fact {
  return { kind: 'lesson', meta: meta('lms.lesson.deleted', o), courseId, lessonId, deleted: true };
}

export function user(userId: number, o: MetaOptions & Partial<UserProfile> = {}): Fact {
  const { at, source, id, ...fields } = o;
  return {
    kind: 'user',
    meta: meta('lms.user.upserted', { at, source, id }),
    userId,
    deleted: false,
    user: {
      id: userId,
      username: `user${userId}`,
      real_name: `User ${userId}`,
      avatar: null,
      emails: [{ email: `user${userId}@example.com`, type: 'work', is_primary: true }],
      ...fields,
    },
  };
}

export function userDeleted(userId: number, o: MetaOptions = {}): Fact {
  return { kind: 'user', meta: meta('lms.user.deleted', o), userId, deleted: true };
}

export interface MembershipOptions extends MetaOptions {
  actor?: MembershipFact['actor'];
  assignment?: Partial<Assignment>;
  customFields?: Record<string, unknown>;
}

export function membership(courseId: number, userId: number, joinStatus: JoinStatus | null, o: MembershipOptions = {}): Fact {
  const { at, source, id, actor, assignment, customFields } = o;
  const f: Fact = {
    kind: 'membership',
    meta: meta('lms.membership.changed', { at, source, id }),
    courseId,
    userId,
    joinStatus,
    actor: actor ?? null,
  };
  if (assignment) f.assignment = { due_at: null, access_expires_at: null, is_mandatory: false, ...assignment };
  if (customFields) f.customFields = customFields;
  return f;
}

export function completed(courseId: number, userId: number, lessonId: number, o: MetaOptions & { timeSpentSeconds?: number } = {}): Fact {
  const { timeSpentSeconds, ...m } = o;
  return {
    kind: 'progress',
    meta: meta('lms.lesson.completed', m),
    courseId,
    userId,
    lessonId,
    completed: true,
    timeSpentSeconds: timeSpentSeconds ?? null,
  };
}

export function uncompleted(courseId: number, userId: number, lessonId: number, o: MetaOptions = {}): Fact {
  return {
    kind: 'progress',
    meta: meta('lms.lesson.uncompleted', o),
    courseId,
    userId,
    lessonId,
    completed: false,
    timeSpentSeconds: null,
  };
}

export function graded(courseId: number, userId: number, attemptNumber: number, o: MetaOptions & { score?: number; passed?: boolean } = {}): Fact {
  const { score, passed, ...m } = o;
  return {
    kind: 'grade',
    meta: meta('lms.course.graded', m),
    courseId,
    userId,
    attemptNumber,
    score: score ?? 80,
    passed: passed ?? true,
  };
}
