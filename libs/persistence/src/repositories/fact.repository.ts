import type {
  CourseFact,
  CourseUpsertFact,
  EnrollmentFacts,
  Fact,
  FactMeta,
  GradeFact,
  LessonFact,
  MembershipFact,
  ProgressFact,
  SectionFact,
  UserFact,
} from '@app/domain';
import { factOrder, latestBy } from '@app/domain';
import { byEventId, eventKey } from './processed-events.repository';
import { json, Sql } from './sql';

export interface EnrollmentKey {
  courseId: number;
  userId: number;
}

export interface StoredFacts {
  /** Events whose fact changed what is stored (the rest were superseded: no-ops). */
  applied: Set<string>;
  /** Courses whose structure or snapshot changed: every enrollment of them needs re-deriving. */
  changedCourses: Map<number, FactMeta>;
  /** Users whose profile changed: each of their enrollments needs re-deriving. */
  changedUsers: Map<number, FactMeta>;
  /** Enrollments touched by a membership, progress or grade fact. */
  enrollments: Map<string, EnrollmentKey & { cause: FactMeta }>;
  /** Enrollments with a membership fact in this batch (the ones a derivation may create). */
  newMemberships: EnrollmentKey[];
  /**
   * Enrollments naming, as a membership actor, a user erased for the first time by this batch:
   * their `assigned_by` loses its name (rules.md "Deletion and erasure", last point).
   */
  erasedActorEnrollments: Map<string, EnrollmentKey & { cause: FactMeta }>;
}

const ERASURE_LOCK = 'enrollment-sync:erasure-scrub';

type Register = {
  table: string;
  keys: string[];
  keyTypes: string[];
  body: string;
  /** The register holds tombstones too (a `deleted` column); false = upserts only. */
  tombstones: boolean;
};

const REGISTERS: Record<'course' | 'courseSnapshot' | 'section' | 'lesson' | 'user', Register> = {
  course: { table: 'course_facts', keys: ['course_id'], keyTypes: ['bigint'], body: 'course', tombstones: true },
  /** The latest upsert of each course, which a deletion does not replace: what a deleted course shows. */
  courseSnapshot: { table: 'course_snapshots', keys: ['course_id'], keyTypes: ['bigint'], body: 'course', tombstones: false },
  section: { table: 'section_facts', keys: ['course_id', 'section_id'], keyTypes: ['bigint', 'bigint'], body: 'section', tombstones: true },
  lesson: { table: 'lesson_facts', keys: ['course_id', 'lesson_id'], keyTypes: ['bigint', 'bigint'], body: 'lesson', tombstones: true },
  user: { table: 'user_facts', keys: ['user_id'], keyTypes: ['bigint'], body: 'profile', tombstones: true },
};

interface RegisterRow {
  meta: FactMeta;
  keys: number[];
  deleted: boolean;
  body: unknown;
}

/**
 * Stores facts so that what is stored is a function of the set of facts: registers keep the
 * latest fact by (time, source, id), logs keep every distinct fact. Rows are written in key
 * order so concurrent transactions lock them in the same order and cannot deadlock each other.
 */
export class FactRepository {
  async store(sql: Sql, facts: readonly Fact[]): Promise<StoredFacts> {
    const out: StoredFacts = {
      applied: new Set(),
      changedCourses: new Map(),
      changedUsers: new Map(),
      enrollments: new Map(),
      newMemberships: [],
      erasedActorEnrollments: new Map(),
    };
    const byKind = <K extends Fact['kind']>(kind: K) => facts.filter((f): f is Extract<Fact, { kind: K }> => f.kind === kind);
    const users = byKind('user');
    const erasing = users.filter((f) => f.deleted).map((f) => f.userId);
    // Names of people already erased never reach the tables: scrubbed here, before storing.
    const alreadyErased = await this.lockErasure(sql, erasing.length > 0, [
      ...byKind('membership').flatMap((f) => (f.actor ? [f.actor.id] : [])),
      ...byKind('course').flatMap((f) => (!f.deleted && f.course.created_by ? [f.course.created_by.id] : [])),
    ]);

    const courses = byKind('course').map((f) =>
      !f.deleted && f.course.created_by && alreadyErased.has(f.course.created_by.id) ? { ...f, course: { ...f.course, created_by: null } } : f,
    );
    for (const meta of await this.upsertRegister(sql, REGISTERS.course, courses.map((f) => ({
      meta: f.meta, keys: [f.courseId], deleted: f.deleted, body: f.deleted ? null : f.course,
    })))) {
      const f = courses.find((c) => c.meta.source === meta.source && c.meta.id === meta.id)!;
      out.applied.add(eventKey(meta));
      out.changedCourses.set(f.courseId, f.meta);
    }
    // An upsert older than a deletion still changes what the deleted course shows: applied, but
    // no enrollment depends on it (a deleted enrollment keeps its last published state).
    const upserts = courses.flatMap((f) => (f.deleted ? [] : [{ meta: f.meta, keys: [f.courseId], deleted: false, body: f.course }]));
    for (const meta of await this.upsertRegister(sql, REGISTERS.courseSnapshot, upserts)) out.applied.add(eventKey(meta));
    for (const kind of ['section', 'lesson'] as const) {
      const list = byKind(kind) as (SectionFact | LessonFact)[];
      const rows = list.map((f) => ({
        meta: f.meta,
        keys: [f.courseId, 'sectionId' in f ? f.sectionId : (f).lessonId],
        deleted: f.deleted,
        body: f.deleted ? null : 'section' in f ? f.section : (f as { lesson: unknown }).lesson,
      }));
      for (const meta of await this.upsertRegister(sql, REGISTERS[kind], rows)) {
        const f = list.find((c) => c.meta.source === meta.source && c.meta.id === meta.id)!;
        out.applied.add(eventKey(meta));
        out.changedCourses.set(f.courseId, f.meta);
      }
    }
    const userWinners = await this.upsertRegister(sql, REGISTERS.user, users.map((f) => ({
      meta: f.meta, keys: [f.userId], deleted: f.deleted, body: f.deleted ? null : f.user,
    })));
    for (const meta of userWinners) {
      const f = users.find((u) => u.meta.source === meta.source && u.meta.id === meta.id)!;
      out.applied.add(eventKey(meta));
      out.changedUsers.set(f.userId, f.meta);
    }

    const memberships = byKind('membership').map((f) =>
      f.actor && f.actor.name !== null && alreadyErased.has(f.actor.id) ? { ...f, actor: { id: f.actor.id, name: null } } : f,
    );
    const progress = byKind('progress');
    const grades = byKind('grade');
    await this.insertMemberships(sql, memberships);
    out.newMemberships = memberships.map((f) => ({ courseId: f.courseId, userId: f.userId }));
    await this.insertProgress(sql, progress);
    await this.insertGrades(sql, grades);
    for (const f of [...memberships, ...progress, ...grades]) {
      out.applied.add(eventKey(f.meta));
      out.enrollments.set(`${f.courseId}:${f.userId}`, { courseId: f.courseId, userId: f.userId, cause: f.meta });
    }
    await this.erase(sql, users.filter((f) => f.deleted), out);
    return out;
  }

  /**
   * Takes the erasure lock and returns which of `named` (ids of people named in the batch) are
   * already erased. Slices are applied concurrently: an erasure and facts naming the erased user
   * must not each miss the other's uncommitted rows. A batch that erases takes the lock
   * exclusively, one that names people shares it, both until commit, so whichever comes second
   * sees what the other committed: the naming batch scrubs its own facts, or the erasure finds them.
   */
  private async lockErasure(sql: Sql, erasing: boolean, named: number[]): Promise<Set<number>> {
    if (erasing) await sql.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [ERASURE_LOCK]);
    else if (named.length > 0) await sql.query(`SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))`, [ERASURE_LOCK]);
    if (named.length === 0) return new Set();
    const rows: { user_id: string }[] = await sql.query(`SELECT user_id FROM erased_users WHERE user_id = ANY($1::bigint[])`, [[...new Set(named)]]);
    return new Set(rows.map((r) => Number(r.user_id)));
  }

  /**
   * Records every user id with a deletion fact in `erased_users`, for good (a later or older
   * upsert does not undo it). For the ids erased for the first time, the user's name leaves the
   * facts naming them (membership actors, course creators) and every enrollment naming them as an
   * actor is re-derived. A deletion fact that only does this (an older one than the user's latest
   * upsert) is applied, not a no-op.
   */
  private async erase(sql: Sql, deletions: Extract<Fact, { kind: 'user' }>[], out: StoredFacts): Promise<void> {
    if (deletions.length === 0) return;
    const ids = [...new Set(deletions.map((f) => f.userId))].sort((a, b) => a - b);
    const fresh: { user_id: string }[] = await sql.query(
      `INSERT INTO erased_users (user_id) SELECT unnest($1::bigint[]) ON CONFLICT DO NOTHING RETURNING user_id`,
      [ids],
    );
    if (fresh.length === 0) return;
    const erased = fresh.map((r) => Number(r.user_id));
    const causes = new Map<number, FactMeta>();
    for (const f of deletions) {
      if (!erased.includes(f.userId)) continue;
      const cur = causes.get(f.userId);
      if (cur === undefined || factOrder(f.meta, cur) > 0) causes.set(f.userId, f.meta);
    }
    for (const meta of causes.values()) out.applied.add(eventKey(meta));

    for (const table of ['course_facts', 'course_snapshots']) {
      await sql.query(
        `UPDATE ${table} SET course = jsonb_set(course, '{created_by}', 'null')
         WHERE jsonb_typeof(course->'created_by') = 'object' AND (course->'created_by'->>'id')::bigint = ANY($1::bigint[])`,
        [erased],
      );
    }
    await sql.query(
      `UPDATE membership_facts SET actor = jsonb_set(actor, '{name}', 'null')
       WHERE actor IS NOT NULL AND (actor->>'id')::bigint = ANY($1::bigint[]) AND actor->>'name' IS NOT NULL`,
      [erased],
    );
    const named: { course_id: string; user_id: string; actor_id: string }[] = await sql.query(
      `SELECT DISTINCT course_id, user_id, (actor->>'id')::bigint AS actor_id FROM membership_facts
       WHERE actor IS NOT NULL AND (actor->>'id')::bigint = ANY($1::bigint[])`,
      [erased],
    );
    for (const r of named) {
      const key = { courseId: Number(r.course_id), userId: Number(r.user_id) };
      out.erasedActorEnrollments.set(`${key.courseId}:${key.userId}`, { ...key, cause: causes.get(Number(r.actor_id))! });
    }
  }

  /** Upserts the latest fact per key; returns the metas of the facts that won. */
  private async upsertRegister(sql: Sql, reg: Register, rows: RegisterRow[]): Promise<FactMeta[]> {
    if (rows.length === 0) return [];
    // One statement cannot update a row twice: keep the latest fact per key first.
    const latest = [...latestBy(rows, (r) => r.keys.join(':')).values()].sort((a, b) => cmpKeys(a.keys, b.keys));
    const params: unknown[] = [
      ...reg.keys.map((_, i) => latest.map((r) => r.keys[i])),
      latest.map((r) => r.meta.time),
      latest.map((r) => r.meta.source),
      latest.map((r) => r.meta.id),
      latest.map((r) => r.meta.type),
      ...(reg.tombstones ? [latest.map((r) => r.deleted)] : []),
      latest.map((r) => json(r.body)),
    ];
    const types = [...reg.keyTypes, 'text', 'text', 'text', 'text', ...(reg.tombstones ? ['boolean'] : []), 'jsonb'];
    const deleted = reg.tombstones ? 'deleted, ' : '';
    const setDeleted = reg.tombstones ? 'deleted = excluded.deleted, ' : '';
    const won: { fact_time: string; fact_source: string; fact_id: string; fact_type: string }[] = await sql.query(
      `INSERT INTO ${reg.table} AS t (${reg.keys.join(', ')}, fact_time, fact_source, fact_id, fact_type, ${deleted}${reg.body})
       SELECT * FROM unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})
       ON CONFLICT (${reg.keys.join(', ')}) DO UPDATE SET
         fact_time = excluded.fact_time, fact_source = excluded.fact_source, fact_id = excluded.fact_id,
         fact_type = excluded.fact_type, ${setDeleted}${reg.body} = excluded.${reg.body}
       WHERE (excluded.fact_time, excluded.fact_source, excluded.fact_id) > (t.fact_time, t.fact_source, t.fact_id)
       RETURNING fact_time, fact_source, fact_id, fact_type`,
      params,
    );
    return won.map((r) => ({ time: r.fact_time, source: r.fact_source, id: r.fact_id, type: r.fact_type }));
  }

  private async insertMemberships(sql: Sql, facts: MembershipFact[]): Promise<void> {
    if (facts.length === 0) return;
    facts = [...facts].sort((a, b) => byEventId(a.meta, b.meta)); // lock order, see byEventId
    await sql.query(
      `INSERT INTO membership_facts (source, id, fact_time, fact_type, course_id, user_id, join_status, actor, assignment, custom_fields)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::jsonb[], $9::jsonb[], $10::jsonb[])
       ON CONFLICT DO NOTHING`,
      [
        ...metaColumns(facts),
        facts.map((f) => f.courseId),
        facts.map((f) => f.userId),
        facts.map((f) => f.joinStatus),
        facts.map((f) => json(f.actor)),
        facts.map((f) => json(f.assignment)),
        facts.map((f) => json(f.customFields)),
      ],
    );
  }

  private async insertProgress(sql: Sql, facts: ProgressFact[]): Promise<void> {
    if (facts.length === 0) return;
    facts = [...facts].sort((a, b) => byEventId(a.meta, b.meta)); // lock order, see byEventId
    await sql.query(
      `INSERT INTO progress_facts (source, id, fact_time, fact_type, course_id, user_id, lesson_id, completed, time_spent_seconds)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::boolean[], $9::bigint[])
       ON CONFLICT DO NOTHING`,
      [
        ...metaColumns(facts),
        facts.map((f) => f.courseId),
        facts.map((f) => f.userId),
        facts.map((f) => f.lessonId),
        facts.map((f) => f.completed),
        facts.map((f) => f.timeSpentSeconds),
      ],
    );
  }

  private async insertGrades(sql: Sql, facts: GradeFact[]): Promise<void> {
    if (facts.length === 0) return;
    facts = [...facts].sort((a, b) => byEventId(a.meta, b.meta)); // lock order, see byEventId
    await sql.query(
      `INSERT INTO grade_facts (source, id, fact_time, fact_type, course_id, user_id, attempt_number, score, passed)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::numeric[], $9::boolean[])
       ON CONFLICT DO NOTHING`,
      [
        ...metaColumns(facts),
        facts.map((f) => f.courseId),
        facts.map((f) => f.userId),
        facts.map((f) => f.attemptNumber),
        facts.map((f) => f.score),
        facts.map((f) => f.passed),
      ],
    );
  }

  /** Loads everything `deriveEnrollment` needs for each key, in a fixed number of queries. */
  async loadEnrollmentFacts(sql: Sql, keys: readonly EnrollmentKey[]): Promise<Map<string, EnrollmentFacts>> {
    const out = new Map<string, EnrollmentFacts>();
    if (keys.length === 0) return out;
    const courseIds = [...new Set(keys.map((k) => k.courseId))];
    const userIds = [...new Set(keys.map((k) => k.userId))];
    const pairs = [keys.map((k) => k.courseId), keys.map((k) => k.userId)];
    const inPairs = `(course_id, user_id) IN (SELECT * FROM unnest($1::bigint[], $2::bigint[]))`;

    // One after another: inside a transaction they share one connection anyway.
    const courseRows = await sql.query(`SELECT * FROM course_facts WHERE course_id = ANY($1::bigint[])`, [courseIds]);
    const snapshotRows = await sql.query(`SELECT * FROM course_snapshots WHERE course_id = ANY($1::bigint[])`, [courseIds]);
    const sectionRows = await sql.query(`SELECT * FROM section_facts WHERE course_id = ANY($1::bigint[])`, [courseIds]);
    const lessonRows = await sql.query(`SELECT * FROM lesson_facts WHERE course_id = ANY($1::bigint[])`, [courseIds]);
    const userRows = await sql.query(`SELECT * FROM user_facts WHERE user_id = ANY($1::bigint[])`, [userIds]);
    const membershipRows = await sql.query(`SELECT * FROM membership_facts WHERE ${inPairs}`, pairs);
    const progressRows = await sql.query(`SELECT * FROM progress_facts WHERE ${inPairs}`, pairs);
    const gradeRows = await sql.query(`SELECT * FROM grade_facts WHERE ${inPairs}`, pairs);
    const actorIds = [...new Set(membershipRows.flatMap((r: Row) => (r.actor ? [Number(r.actor.id)] : [])))];
    const erasedRows = actorIds.length === 0 ? [] : await sql.query(`SELECT user_id FROM erased_users WHERE user_id = ANY($1::bigint[])`, [actorIds]);
    const erasedUserIds = new Set<number>(erasedRows.map((r: Row) => Number(r.user_id)));

    const courses = new Map<number, CourseFact>(courseRows.map((r: Row) => [r.course_id, toCourseFact(r)]));
    const snapshots = new Map<number, CourseUpsertFact>(
      snapshotRows.map((r: Row) => [r.course_id, { meta: registerMeta(r), courseId: r.course_id, deleted: false, course: r.course }]),
    );
    const sections = groupBy<SectionFact>(sectionRows.map(toSectionFact), (f) => f.courseId);
    const lessons = groupBy<LessonFact>(lessonRows.map(toLessonFact), (f) => f.courseId);
    const users = new Map<number, UserFact>(userRows.map((r: Row) => [r.user_id, toUserFact(r)]));
    const enrollmentOf = (f: { courseId: number; userId: number }) => `${f.courseId}:${f.userId}`;
    const memberships = groupBy<MembershipFact>(membershipRows.map(toMembershipFact), enrollmentOf);
    const progress = groupBy<ProgressFact>(progressRows.map(toProgressFact), enrollmentOf);
    const grades = groupBy<GradeFact>(gradeRows.map(toGradeFact), enrollmentOf);

    for (const { courseId, userId } of keys) {
      const id = `${courseId}:${userId}`;
      out.set(id, {
        courseId,
        userId,
        course: courses.get(courseId),
        lastUpsert: snapshots.get(courseId),
        sections: sections.get(courseId) ?? [],
        lessons: lessons.get(courseId) ?? [],
        user: users.get(userId),
        erasedUserIds,
        memberships: memberships.get(id) ?? [],
        progress: progress.get(id) ?? [],
        grades: grades.get(id) ?? [],
      });
    }
    return out;
  }
}

// pg returns rows as loosely typed records; each mapper below gives one its domain shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Row = Record<string, any>;

const metaColumns = (facts: { meta: FactMeta }[]): unknown[][] => [
  facts.map((f) => f.meta.source),
  facts.map((f) => f.meta.id),
  facts.map((f) => f.meta.time),
  facts.map((f) => f.meta.type),
];

const registerMeta = (r: Row): FactMeta => ({ time: r.fact_time, source: r.fact_source, id: r.fact_id, type: r.fact_type });
const logMeta = (r: Row): FactMeta => ({ time: r.fact_time, source: r.source, id: r.id, type: r.fact_type });

const toCourseFact = (r: Row): CourseFact =>
  r.deleted
    ? { meta: registerMeta(r), courseId: r.course_id, deleted: true }
    : { meta: registerMeta(r), courseId: r.course_id, deleted: false, course: r.course };
const toSectionFact = (r: Row): SectionFact =>
  r.deleted
    ? { meta: registerMeta(r), courseId: r.course_id, sectionId: r.section_id, deleted: true }
    : { meta: registerMeta(r), courseId: r.course_id, sectionId: r.section_id, deleted: false, section: r.section };
const toLessonFact = (r: Row): LessonFact =>
  r.deleted
    ? { meta: registerMeta(r), courseId: r.course_id, lessonId: r.lesson_id, deleted: true }
    : { meta: registerMeta(r), courseId: r.course_id, lessonId: r.lesson_id, deleted: false, lesson: r.lesson };
const toUserFact = (r: Row): UserFact =>
  r.deleted
    ? { meta: registerMeta(r), userId: r.user_id, deleted: true }
    : { meta: registerMeta(r), userId: r.user_id, deleted: false, user: r.profile };
const toMembershipFact = (r: Row): MembershipFact => ({
  meta: logMeta(r),
  courseId: r.course_id,
  userId: r.user_id,
  joinStatus: r.join_status,
  actor: r.actor,
  ...(r.assignment === null ? {} : { assignment: r.assignment }),
  ...(r.custom_fields === null ? {} : { customFields: r.custom_fields }),
});
const toProgressFact = (r: Row): ProgressFact => ({
  meta: logMeta(r),
  courseId: r.course_id,
  userId: r.user_id,
  lessonId: r.lesson_id,
  completed: r.completed,
  timeSpentSeconds: r.time_spent_seconds === null ? null : Number(r.time_spent_seconds),
});
const toGradeFact = (r: Row): GradeFact => ({
  meta: logMeta(r),
  courseId: r.course_id,
  userId: r.user_id,
  attemptNumber: Number(r.attempt_number),
  score: Number(r.score),
  passed: r.passed,
});

function groupBy<T>(items: T[], key: (t: T) => string | number): Map<string | number, T[]> {
  const m = new Map<string | number, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = m.get(k);
    if (list) list.push(it);
    else m.set(k, [it]);
  }
  return m;
}

function cmpKeys(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}
