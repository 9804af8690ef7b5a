import type { FactKind, FactMeta, FactsByKind } from '@app/domain';
import { json } from './sql';

// pg returns rows as loosely typed records; each `fromRow` below gives one its domain shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Row = Record<string, any>;

export interface Column {
  name: string;
  /** The Postgres type its values are cast to in `unnest($n::type[])`. */
  type: string;
}

/** Which ids a derivation loads a kind's facts by: those of its course, its user or its enrollment. */
export type FactScope = 'course' | 'user' | 'enrollment';

interface StoredKind<K extends FactKind> {
  table: string;
  scope: FactScope;
  /**
   * Key columns. The first names the fact's course (scope course or enrollment) or user (scope
   * user); an enrollment-scoped table's first two are (course_id, user_id).
   */
  keys: readonly Column[];
  keyOf(fact: FactsByKind[K]): number[];
  fromRow(row: Row): FactsByKind[K];
}

/**
 * Latest-wins: one row per key, replaced by a fact later in (time, source, id) order. Deletions
 * are stored as tombstones (`deleted`, no body).
 */
export interface RegisterTable<K extends FactKind> extends StoredKind<K> {
  storage: 'register';
  /** The one jsonb column holding the upserted value. */
  body: string;
  bodyOf(fact: FactsByKind[K]): { deleted: boolean; value: unknown };
}

/** Every distinct fact is kept (keyed by source and id), in columns of its own. */
export interface LogTable<K extends FactKind> extends StoredKind<K> {
  storage: 'log';
  columns: readonly Column[];
  valuesOf(fact: FactsByKind[K]): unknown[];
  /** Its facts can bring an enrollment into existence (so their owners' locks are taken). */
  opensEnrollment: boolean;
}

export type FactTable<K extends FactKind> = RegisterTable<K> | LogTable<K>;

/** One entry per fact kind: a kind missing here does not compile. */
export type FactTables = { readonly [K in FactKind]: FactTable<K> };

const bigint = (name: string): Column => ({ name, type: 'bigint' });

export const registerMeta = (r: Row): FactMeta => ({ time: r.fact_time, source: r.fact_source, id: r.fact_id, type: r.fact_type });
export const logMeta = (r: Row): FactMeta => ({ time: r.fact_time, source: r.source, id: r.id, type: r.fact_type });

/**
 * Where and how each kind of fact is stored: storing (`FactRepository.store`) and loading
 * (`loadEnrollmentFacts`) walk this table. The entries' order is the order a batch writes the
 * tables in, the same for every writer, so concurrent batches lock rows in one order.
 */
export const FACT_TABLES: FactTables = {
  course: {
    storage: 'register',
    table: 'course_facts',
    scope: 'course',
    keys: [bigint('course_id')],
    keyOf: (f) => [f.courseId],
    body: 'course',
    bodyOf: (f) => ({ deleted: f.deleted, value: f.deleted ? null : f.course }),
    fromRow: (r) =>
      r.deleted
        ? { meta: registerMeta(r), courseId: r.course_id, deleted: true }
        : { meta: registerMeta(r), courseId: r.course_id, deleted: false, course: r.course },
  },
  section: {
    storage: 'register',
    table: 'section_facts',
    scope: 'course',
    keys: [bigint('course_id'), bigint('section_id')],
    keyOf: (f) => [f.courseId, f.sectionId],
    body: 'section',
    bodyOf: (f) => ({ deleted: f.deleted, value: f.deleted ? null : f.section }),
    fromRow: (r) =>
      r.deleted
        ? { meta: registerMeta(r), courseId: r.course_id, sectionId: r.section_id, deleted: true }
        : { meta: registerMeta(r), courseId: r.course_id, sectionId: r.section_id, deleted: false, section: r.section },
  },
  lesson: {
    storage: 'register',
    table: 'lesson_facts',
    scope: 'course',
    keys: [bigint('course_id'), bigint('lesson_id')],
    keyOf: (f) => [f.courseId, f.lessonId],
    body: 'lesson',
    bodyOf: (f) => ({ deleted: f.deleted, value: f.deleted ? null : f.lesson }),
    fromRow: (r) =>
      r.deleted
        ? { meta: registerMeta(r), courseId: r.course_id, lessonId: r.lesson_id, deleted: true }
        : { meta: registerMeta(r), courseId: r.course_id, lessonId: r.lesson_id, deleted: false, lesson: r.lesson },
  },
  user: {
    storage: 'register',
    table: 'user_facts',
    scope: 'user',
    keys: [bigint('user_id')],
    keyOf: (f) => [f.userId],
    body: 'profile',
    bodyOf: (f) => ({ deleted: f.deleted, value: f.deleted ? null : f.user }),
    fromRow: (r) =>
      r.deleted ? { meta: registerMeta(r), userId: r.user_id, deleted: true } : { meta: registerMeta(r), userId: r.user_id, deleted: false, user: r.profile },
  },
  membership: {
    storage: 'log',
    table: 'membership_facts',
    scope: 'enrollment',
    opensEnrollment: true,
    keys: [bigint('course_id'), bigint('user_id')],
    keyOf: (f) => [f.courseId, f.userId],
    columns: [
      { name: 'join_status', type: 'text' },
      { name: 'actor', type: 'jsonb' },
      { name: 'assignment', type: 'jsonb' },
      { name: 'custom_fields', type: 'jsonb' },
    ],
    valuesOf: (f) => [f.joinStatus, json(f.actor), json(f.assignment), json(f.customFields)],
    fromRow: (r) => ({
      meta: logMeta(r),
      courseId: r.course_id,
      userId: r.user_id,
      joinStatus: r.join_status,
      actor: r.actor,
      ...(r.assignment === null ? {} : { assignment: r.assignment }),
      ...(r.custom_fields === null ? {} : { customFields: r.custom_fields }),
    }),
  },
  progress: {
    storage: 'log',
    table: 'progress_facts',
    scope: 'enrollment',
    opensEnrollment: false,
    keys: [bigint('course_id'), bigint('user_id')],
    keyOf: (f) => [f.courseId, f.userId],
    columns: [bigint('lesson_id'), { name: 'completed', type: 'boolean' }, bigint('time_spent_seconds')],
    valuesOf: (f) => [f.lessonId, f.completed, f.timeSpentSeconds],
    fromRow: (r) => ({
      meta: logMeta(r),
      courseId: r.course_id,
      userId: r.user_id,
      lessonId: r.lesson_id,
      completed: r.completed,
      timeSpentSeconds: r.time_spent_seconds === null ? null : Number(r.time_spent_seconds),
    }),
  },
  grade: {
    storage: 'log',
    table: 'grade_facts',
    scope: 'enrollment',
    opensEnrollment: false,
    keys: [bigint('course_id'), bigint('user_id')],
    keyOf: (f) => [f.courseId, f.userId],
    columns: [bigint('attempt_number'), { name: 'score', type: 'numeric' }, { name: 'passed', type: 'boolean' }],
    valuesOf: (f) => [f.attemptNumber, f.score, f.passed],
    fromRow: (r) => ({
      meta: logMeta(r),
      courseId: r.course_id,
      userId: r.user_id,
      attemptNumber: Number(r.attempt_number),
      score: Number(r.score),
      passed: r.passed,
    }),
  },
};

/** The kinds in the registry's (write) order. */
export const FACT_KINDS = Object.keys(FACT_TABLES) as FactKind[];

/** The entry of one kind, typed for it. */
export const factTable = <K extends FactKind>(kind: K): FactTable<K> => FACT_TABLES[kind];
