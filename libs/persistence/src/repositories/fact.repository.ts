import type { CourseUpsertFact, EnrollmentFacts, Fact, FactKind, FactMeta, FactOf, FactsByKind } from '@app/domain';
import { factOrder, latestBy } from '@app/domain';
import { byEventId, EventId, eventKey } from './processed-events.repository';
import { json, Sql } from './sql';

// pg returns rows as loosely typed records; each `fromRow` below gives one its domain shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type FactRow = Record<string, any>;

export interface FactColumn {
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
  keys: readonly FactColumn[];
  keyOf(fact: FactsByKind[K]): number[];
  fromRow(row: FactRow): FactsByKind[K];
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
  columns: readonly FactColumn[];
  valuesOf(fact: FactsByKind[K]): unknown[];
  /** Its facts can bring an enrollment into existence (so their owners' locks are taken). */
  opensEnrollment: boolean;
}

export type FactTable<K extends FactKind> = RegisterTable<K> | LogTable<K>;

/** One entry per fact kind: a kind missing here does not compile. */
export type FactTables = { readonly [K in FactKind]: FactTable<K> };

const bigint = (name: string): FactColumn => ({ name, type: 'bigint' });

export const registerMeta = (r: FactRow): FactMeta => ({ time: r.fact_time, source: r.fact_source, id: r.fact_id, type: r.fact_type });
export const logMeta = (r: FactRow): FactMeta => ({ time: r.fact_time, source: r.source, id: r.id, type: r.fact_type });

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
      r.deleted ? { meta: registerMeta(r), courseId: r.course_id, deleted: true } : { meta: registerMeta(r), courseId: r.course_id, deleted: false, course: r.course },
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

/** A latest-wins table as `upsertRegister` writes it. */
interface Register {
  table: string;
  keys: readonly FactColumn[];
  body: string;
  /** The register holds tombstones too (a `deleted` column); false = upserts only. */
  tombstones: boolean;
  /** Enrollments derive from it: each write records whether it changed the content (`content_changed`). */
  derivedFrom: boolean;
}

/** The latest upsert of each course, which a deletion does not replace: what a deleted course shows. */
const COURSE_SNAPSHOTS: Register = { table: 'course_snapshots', keys: [{ name: 'course_id', type: 'bigint' }], body: 'course', tombstones: false, derivedFrom: false };

const registerOf = <K extends FactKind>(t: RegisterTable<K>): Register => ({ table: t.table, keys: t.keys, body: t.body, tombstones: true, derivedFrom: true });

interface RegisterRow {
  meta: FactMeta;
  keys: number[];
  deleted: boolean;
  body: unknown;
}

type FactsOfEachKind = { [K in FactKind]: FactOf<K>[] };

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
    const byKind = groupByKind(facts);
    const erasing = byKind.user.filter((f) => f.deleted).map((f) => f.userId);
    // Names of people already erased never reach the tables: scrubbed here, before storing.
    const alreadyErased = await this.lockErasure(sql, erasing.length > 0, [
      ...byKind.membership.flatMap((f) => (f.actor ? [f.actor.id] : [])),
      ...byKind.course.flatMap((f) => (!f.deleted && f.course.created_by ? [f.course.created_by.id] : [])),
    ]);
    byKind.course = byKind.course.map((f) =>
      !f.deleted && f.course.created_by && alreadyErased.has(f.course.created_by.id) ? { ...f, course: { ...f.course, created_by: null } } : f,
    );
    byKind.membership = byKind.membership.map((f) =>
      f.actor && f.actor.name !== null && alreadyErased.has(f.actor.id) ? { ...f, actor: { id: f.actor.id, name: null } } : f,
    );

    for (const kind of FACT_KINDS) {
      await this.storeKind(sql, kind, byKind[kind], out);
      if (kind !== 'course') continue;
      // An upsert older than a deletion still changes what the deleted course shows: applied, but
      // no enrollment depends on it (a deleted enrollment keeps its last published state).
      const upserts = byKind.course.flatMap((f) => (f.deleted ? [] : [{ meta: f.meta, keys: [f.courseId], deleted: false, body: f.course }]));
      for (const { meta } of await this.upsertRegister(sql, COURSE_SNAPSHOTS, upserts)) out.applied.add(eventKey(meta));
    }
    await this.erase(
      sql,
      byKind.user.filter((f) => f.deleted),
      out,
    );
    return out;
  }

  /**
   * Stores one kind's facts as its `FACT_TABLES` entry says, and records what they touched by the
   * entry's scope: a course's or a user's register changed (every enrollment of it is re-derived),
   * or an enrollment's log grew.
   */
  private async storeKind<K extends FactKind>(sql: Sql, kind: K, facts: readonly FactOf<K>[], out: StoredFacts): Promise<void> {
    if (facts.length === 0) return;
    const spec = factTable(kind);
    if (spec.storage === 'register') {
      const rows = facts.map((f) => {
        const { deleted, value } = spec.bodyOf(f);
        return { meta: f.meta, keys: spec.keyOf(f), deleted, body: value };
      });
      const changed = spec.scope === 'user' ? out.changedUsers : out.changedCourses;
      for (const { meta, contentChanged } of await this.upsertRegister(sql, registerOf(spec), rows)) {
        out.applied.add(eventKey(meta));
        // A newer fact with the same content is stored (it is the latest) but changes no derivation.
        if (!contentChanged) continue;
        const row = rows.find((r) => r.meta.source === meta.source && r.meta.id === meta.id)!;
        changed.set(row.keys[0], row.meta);
      }
      return;
    }
    await this.insertLog(sql, spec, facts);
    for (const f of facts) {
      const [courseId, userId] = spec.keyOf(f);
      out.applied.add(eventKey(f.meta));
      out.enrollments.set(`${courseId}:${userId}`, { courseId, userId, cause: f.meta });
      if (spec.opensEnrollment) out.newMemberships.push({ courseId, userId });
    }
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
    const fresh: { user_id: string }[] = await sql.query(`INSERT INTO erased_users (user_id) SELECT unnest($1::bigint[]) ON CONFLICT DO NOTHING RETURNING user_id`, [
      ids,
    ]);
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

  /**
   * Upserts the latest fact per key; returns the metas of the facts that won, each with whether
   * it changed the row's content (a new row always does).
   */
  private async upsertRegister(sql: Sql, reg: Register, rows: RegisterRow[]): Promise<{ meta: FactMeta; contentChanged: boolean }[]> {
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
    const types = [...reg.keys.map((k) => k.type), 'text', 'text', 'text', 'text', ...(reg.tombstones ? ['boolean'] : []), 'jsonb'];
    const deleted = reg.tombstones ? 'deleted, ' : '';
    const setDeleted = reg.tombstones ? 'deleted = excluded.deleted, ' : '';
    // In SET, `t` is the row version being replaced (the latest committed, once its lock is ours).
    const setChanged = reg.derivedFrom
      ? `content_changed = (t.${reg.body} IS DISTINCT FROM excluded.${reg.body}${reg.tombstones ? ' OR t.deleted IS DISTINCT FROM excluded.deleted' : ''}), `
      : '';
    const won: { fact_time: string; fact_source: string; fact_id: string; fact_type: string; content_changed: boolean }[] = await sql.query(
      `INSERT INTO ${reg.table} AS t (${reg.keys.map((k) => k.name).join(', ')}, fact_time, fact_source, fact_id, fact_type, ${deleted}${reg.body})
       SELECT * FROM unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})
       ON CONFLICT (${reg.keys.map((k) => k.name).join(', ')}) DO UPDATE SET
         ${setChanged}fact_time = excluded.fact_time, fact_source = excluded.fact_source, fact_id = excluded.fact_id,
         fact_type = excluded.fact_type, ${setDeleted}${reg.body} = excluded.${reg.body}
       WHERE (excluded.fact_time, excluded.fact_source, excluded.fact_id) > (t.fact_time, t.fact_source, t.fact_id)
       RETURNING fact_time, fact_source, fact_id, fact_type, ${reg.derivedFrom ? 'content_changed' : 'true AS content_changed'}`,
      params,
    );
    return won.map((r) => ({ meta: { time: r.fact_time, source: r.fact_source, id: r.fact_id, type: r.fact_type }, contentChanged: r.content_changed }));
  }

  /** Inserts every fact not stored yet (by source and id) into a log table. */
  private async insertLog<K extends FactKind>(sql: Sql, spec: LogTable<K>, facts: readonly FactOf<K>[]): Promise<void> {
    const sorted = [...facts].sort((a, b) => byEventId(a.meta, b.meta)); // lock order, see byEventId
    const columns: FactColumn[] = [
      { name: 'source', type: 'text' },
      { name: 'id', type: 'text' },
      { name: 'fact_time', type: 'text' },
      { name: 'fact_type', type: 'text' },
      ...spec.keys,
      ...spec.columns,
    ];
    const rows = sorted.map((f) => [f.meta.source, f.meta.id, f.meta.time, f.meta.type, ...spec.keyOf(f), ...spec.valuesOf(f)]);
    await sql.query(
      `INSERT INTO ${spec.table} (${columns.map((c) => c.name).join(', ')})
       SELECT * FROM unnest(${columns.map((c, i) => `$${i + 1}::${c.type}[]`).join(', ')})
       ON CONFLICT DO NOTHING`,
      columns.map((_, i) => rows.map((r) => r[i])),
    );
  }

  /** Loads everything `deriveEnrollment` needs for each key, in a fixed number of queries. */
  async loadEnrollmentFacts(sql: Sql, keys: readonly EnrollmentKey[]): Promise<Map<string, EnrollmentFacts>> {
    const out = new Map<string, EnrollmentFacts>();
    if (keys.length === 0) return out;
    const courseIds = [...new Set(keys.map((k) => k.courseId))];
    // One after another: inside a transaction they share one connection anyway.
    const loaded = {} as { [K in FactKind]: Map<string, FactsByKind[K][]> };
    for (const kind of FACT_KINDS) await this.loadKind(sql, kind, keys, loaded);
    const snapshotRows: FactRow[] = await sql.query(`SELECT * FROM course_snapshots WHERE course_id = ANY($1::bigint[])`, [courseIds]);
    const snapshots = new Map<number, CourseUpsertFact>(
      snapshotRows.map((r) => [Number(r.course_id), { meta: registerMeta(r), courseId: Number(r.course_id), deleted: false, course: r.course }]),
    );
    const actorIds = [...new Set([...loaded.membership.values()].flat().flatMap((f) => (f.actor ? [Number(f.actor.id)] : [])))];
    const erasedRows: FactRow[] = actorIds.length === 0 ? [] : await sql.query(`SELECT user_id FROM erased_users WHERE user_id = ANY($1::bigint[])`, [actorIds]);
    const erasedUserIds = new Set<number>(erasedRows.map((r) => Number(r.user_id)));

    for (const { courseId, userId } of keys) {
      const id = `${courseId}:${userId}`;
      out.set(id, {
        courseId,
        userId,
        course: loaded.course.get(String(courseId))?.[0],
        lastUpsert: snapshots.get(courseId),
        sections: loaded.section.get(String(courseId)) ?? [],
        lessons: loaded.lesson.get(String(courseId)) ?? [],
        user: loaded.user.get(String(userId))?.[0],
        erasedUserIds,
        memberships: loaded.membership.get(id) ?? [],
        progress: loaded.progress.get(id) ?? [],
        grades: loaded.grade.get(id) ?? [],
      });
    }
    return out;
  }

  /** One kind's facts of the keys' courses, users or enrollments (its scope), grouped by scope id. */
  private async loadKind<K extends FactKind>(sql: Sql, kind: K, keys: readonly EnrollmentKey[], into: { [P in FactKind]: Map<string, FactsByKind[P][]> }): Promise<void> {
    const spec = factTable(kind);
    const where = {
      course: { sql: `course_id = ANY($1::bigint[])`, params: [[...new Set(keys.map((k) => k.courseId))]] },
      user: { sql: `user_id = ANY($1::bigint[])`, params: [[...new Set(keys.map((k) => k.userId))]] },
      enrollment: {
        sql: `(course_id, user_id) IN (SELECT * FROM unnest($1::bigint[], $2::bigint[]))`,
        params: [keys.map((k) => k.courseId), keys.map((k) => k.userId)],
      },
    }[spec.scope];
    const rows: FactRow[] = await sql.query(`SELECT * FROM ${spec.table} WHERE ${where.sql}`, where.params);
    const groups = new Map<string, FactsByKind[K][]>();
    for (const row of rows) {
      const fact = spec.fromRow(row);
      const [first, second] = spec.keyOf(fact);
      const id = spec.scope === 'enrollment' ? `${first}:${second}` : String(first);
      const list = groups.get(id);
      if (list) list.push(fact);
      else groups.set(id, [fact]);
    }
    (into as Record<FactKind, Map<string, unknown[]>>)[kind] = groups;
  }
}

/**
 * A stored fact as an operator finds it: by its event, or by its time. `table` is its kind's
 * table, or `course_snapshots` for a course upsert kept as the course's last known fields.
 */
export interface StoredFactRef {
  kind: FactKind;
  table: string;
  meta: FactMeta;
  /** The table's key columns and their values: `{ course_id: 42 }`, `{ course_id: 42, user_id: 7 }`. */
  keys: Record<string, number>;
}

/** Where each table keeps the event a row came from: registers say whose fact they hold, logs are keyed by it. */
interface FactSite {
  kind: FactKind;
  table: string;
  keys: readonly FactColumn[];
  source: string;
  id: string;
}

const FACT_SITES: readonly FactSite[] = FACT_KINDS.flatMap((kind): FactSite[] => {
  const spec = factTable(kind);
  const site = spec.storage === 'register' ? { source: 'fact_source', id: 'fact_id' } : { source: 'source', id: 'id' };
  const own: FactSite = { kind, table: spec.table, keys: spec.keys, ...site };
  return kind === 'course' ? [own, { kind, table: COURSE_SNAPSHOTS.table, keys: COURSE_SNAPSHOTS.keys, source: 'fact_source', id: 'fact_id' }] : [own];
});

const refOf = (site: FactSite, r: FactRow): StoredFactRef => ({
  kind: site.kind,
  table: site.table,
  meta: { time: r.fact_time, source: r[site.source], id: r[site.id], type: r.fact_type },
  keys: Object.fromEntries(site.keys.map((k) => [k.name, Number(r[k.name])])),
});

const siteColumns = (site: FactSite): string => [...site.keys.map((k) => k.name), site.source, site.id, 'fact_time', 'fact_type'].join(', ');

/**
 * What an operator does to facts that should never have been stored (a producer's clock in the
 * future): find them, and remove one. Outside the ingestion path: the scans below read whole
 * tables (registers have no index on the event that wrote a row, and none is added for this).
 */
export class FactRetractionRepository {
  /** Deletes every row holding the event's fact (a course upsert: its register row and its snapshot). */
  async remove(sql: Sql, event: EventId): Promise<StoredFactRef[]> {
    const removed: StoredFactRef[] = [];
    for (const site of FACT_SITES) {
      const [rows]: [FactRow[], number] = await sql.query(`DELETE FROM ${site.table} WHERE ${site.source} = $1 AND ${site.id} = $2 RETURNING ${siteColumns(site)}`, [
        event.source,
        event.id,
      ]);
      for (const r of rows) removed.push(refOf(site, r));
    }
    return removed;
  }

  /** Facts whose time is after `after` (a canonical time), in time order. */
  async after(sql: Sql, after: string): Promise<StoredFactRef[]> {
    const found: StoredFactRef[] = [];
    for (const site of FACT_SITES) {
      const rows: FactRow[] = await sql.query(`SELECT ${siteColumns(site)} FROM ${site.table} WHERE fact_time > $1`, [after]);
      for (const r of rows) found.push(refOf(site, r));
    }
    return found.sort((a, b) => factOrder(a.meta, b.meta));
  }

  /**
   * Forgets the inbox entries of events whose fact no table holds any more (register facts a
   * newer one superseded, or that lost to one when they arrived), except retracted ones: re-sent,
   * they are applied again, and win if nothing newer is stored. Re-applying one that still loses
   * is a no-op, so forgetting more of them than a retraction displaced changes no state.
   */
  async releaseSuperseded(sql: Sql): Promise<number> {
    const held = FACT_SITES.map((s) => `NOT EXISTS (SELECT 1 FROM ${s.table} f WHERE f.${s.source} = p.source AND f.${s.id} = p.id)`);
    const [, n]: [unknown, number] = await sql.query(`DELETE FROM processed_events p WHERE p.retracted_at IS NULL AND ${held.join('\n         AND ')}`);
    return n;
  }
}

function groupByKind(facts: readonly Fact[]): FactsOfEachKind {
  const out = Object.fromEntries(FACT_KINDS.map((k) => [k, []])) as unknown as FactsOfEachKind;
  for (const f of facts) (out[f.kind] as Fact[]).push(f);
  return out;
}

function cmpKeys(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}
