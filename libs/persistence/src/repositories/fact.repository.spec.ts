import type { Fact, FactKind, FactMeta, FactOf } from '@app/domain';
import { FACT_KINDS, FACT_TABLES, factTable, FactTables, logMeta, registerMeta, FactRow } from './fact.repository';

const meta = (n: number): FactMeta => ({ time: `2026-01-01T00:00:0${n}.000000Z`, source: '/lms', id: `evt-${n}`, type: 'lms.test' });

/** One fact of every kind, upserts and tombstones both, as the edge decodes them. */
const FACTS: Fact[] = [
  { kind: 'course', meta: meta(1), courseId: 7, deleted: true },
  { kind: 'section', meta: meta(2), courseId: 7, sectionId: 3, deleted: false, section: { id: 3, name: 'Intro', position: 1 } },
  { kind: 'lesson', meta: meta(3), courseId: 7, lessonId: 9, deleted: true },
  { kind: 'user', meta: meta(4), userId: 5, deleted: false, user: { id: 5, username: 'ada', real_name: 'Ada', avatar: null, emails: [] } },
  {
    kind: 'membership',
    meta: meta(5),
    courseId: 7,
    userId: 5,
    joinStatus: 'joined',
    actor: { id: 2, name: 'Grace' },
    assignment: { due_at: null, access_expires_at: null, is_mandatory: true },
  },
  { kind: 'progress', meta: meta(6), courseId: 7, userId: 5, lessonId: 9, completed: true, timeSpentSeconds: 120 },
  { kind: 'grade', meta: meta(7), courseId: 7, userId: 5, attemptNumber: 2, score: 91.5, passed: true },
];

/**
 * The row Postgres would hand back for what `store` writes: the key columns, the meta columns
 * of a register or a log, and the body (jsonb read back as a value, as pg does).
 */
function storedRow<K extends FactKind>(kind: K, fact: FactOf<K>): FactRow {
  const spec = factTable(kind);
  const row: FactRow = Object.fromEntries(spec.keys.map((c, i) => [c.name, spec.keyOf(fact)[i]]));
  if (spec.storage === 'register') {
    const { deleted, value } = spec.bodyOf(fact);
    const m = fact.meta;
    return { ...row, fact_time: m.time, fact_source: m.source, fact_id: m.id, fact_type: m.type, deleted, [spec.body]: value };
  }
  const values = spec.valuesOf(fact).map((v, i) => (spec.columns[i].type === 'jsonb' && typeof v === 'string' ? JSON.parse(v) : v));
  return {
    ...row,
    source: fact.meta.source,
    id: fact.meta.id,
    fact_time: fact.meta.time,
    fact_type: fact.meta.type,
    ...Object.fromEntries(spec.columns.map((c, i) => [c.name, values[i]])),
  };
}

describe('FACT_TABLES, the registry of stored fact kinds', () => {
  it('has an entry for every kind, in the order batches write them (registers before logs)', () => {
    expect(FACT_KINDS).toEqual(['course', 'section', 'lesson', 'user', 'membership', 'progress', 'grade']);
    expect(FACT_KINDS.map((k) => FACT_TABLES[k].storage)).toEqual(['register', 'register', 'register', 'register', 'log', 'log', 'log']);
  });

  it.each(FACTS.map((f) => [f.kind, f] as const))('reads back a stored %s fact as the fact it stored', (kind, fact) => {
    const expected = Object.fromEntries(Object.entries(fact).filter(([field]) => field !== 'kind'));
    expect(factTable(kind).fromRow(storedRow(kind, fact as never))).toEqual(expected);
  });

  it('keys each fact by its scope first: a course, a user, or an enrollment (course, user)', () => {
    const firstKey = Object.fromEntries(FACTS.map((f) => [f.kind, factTable(f.kind).keyOf(f as never)]));
    expect(firstKey).toEqual({ course: [7], section: [7, 3], lesson: [7, 9], user: [5], membership: [7, 5], progress: [7, 5], grade: [7, 5] });
    for (const kind of FACT_KINDS) {
      const spec = FACT_TABLES[kind];
      const first = spec.scope === 'user' ? 'user_id' : 'course_id';
      expect(spec.keys[0].name).toBe(first);
      if (spec.scope === 'enrollment') expect(spec.keys[1].name).toBe('user_id');
    }
  });

  it('maps register and log meta columns to the same meta', () => {
    const m = meta(8);
    expect(registerMeta({ fact_time: m.time, fact_source: m.source, fact_id: m.id, fact_type: m.type })).toEqual(m);
    expect(logMeta({ fact_time: m.time, source: m.source, id: m.id, fact_type: m.type })).toEqual(m);
  });

  it('cannot drop a kind silently: the compiler rejects a registry without one, or without a new one', () => {
    const { grade, ...withoutGrade } = FACT_TABLES;
    expect(grade.table).toBe('grade_facts');
    // @ts-expect-error: 'grade' is missing, so this is not a FactTables
    const incomplete: FactTables = withoutGrade;
    // A kind added to FactsByKind (here 'certificate') has no entry yet:
    // @ts-expect-error: property 'certificate' is missing in FACT_TABLES
    const withNewKind: { readonly [K in FactKind | 'certificate']: unknown } = FACT_TABLES;
    expect(Object.keys(incomplete)).not.toContain('grade');
    expect(Object.keys(withNewKind)).not.toContain('certificate');
  });
});
