import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Facts are stored so the derived state is a function of the set of facts, never of arrival
 * order: registers keep the latest fact by (time, source, id); logs keep every distinct fact.
 * Fact times are canonical UTC strings with six fractional digits, compared in byte order
 * (COLLATE "C"), exactly as the domain lib orders them.
 */
export class InitialProjection1763890000000 implements MigrationInterface {
  name = 'InitialProjection1763890000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE processed_events (
        source text COLLATE "C" NOT NULL,
        id text COLLATE "C" NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (source, id)
      )`);

    for (const [table, keyCols, body] of [
      ['course_facts', 'course_id bigint NOT NULL', 'course jsonb'],
      ['section_facts', 'course_id bigint NOT NULL, section_id bigint NOT NULL', 'section jsonb'],
      ['lesson_facts', 'course_id bigint NOT NULL, lesson_id bigint NOT NULL', 'lesson jsonb'],
      ['user_facts', 'user_id bigint NOT NULL', 'profile jsonb'],
    ]) {
      const pk = keyCols
        .split(',')
        .map((c) => c.trim().split(' ')[0])
        .join(', ');
      await q.query(`
        CREATE TABLE ${table} (
          ${keyCols},
          fact_time text COLLATE "C" NOT NULL,
          fact_source text COLLATE "C" NOT NULL,
          fact_id text COLLATE "C" NOT NULL,
          fact_type text NOT NULL,
          deleted boolean NOT NULL,
          ${body},
          PRIMARY KEY (${pk})
        )`);
    }

    const logMeta = `
      source text COLLATE "C" NOT NULL,
      id text COLLATE "C" NOT NULL,
      fact_time text COLLATE "C" NOT NULL,
      fact_type text NOT NULL,
      course_id bigint NOT NULL,
      user_id bigint NOT NULL`;
    await q.query(`
      CREATE TABLE membership_facts (${logMeta},
        join_status text,
        actor jsonb,
        assignment jsonb,
        custom_fields jsonb,
        PRIMARY KEY (source, id)
      )`);
    await q.query(`
      CREATE TABLE progress_facts (${logMeta},
        lesson_id bigint NOT NULL,
        completed boolean NOT NULL,
        time_spent_seconds bigint,
        PRIMARY KEY (source, id)
      )`);
    await q.query(`
      CREATE TABLE grade_facts (${logMeta},
        attempt_number bigint NOT NULL,
        score numeric NOT NULL,
        passed boolean NOT NULL,
        PRIMARY KEY (source, id)
      )`);
    for (const t of ['membership_facts', 'progress_facts', 'grade_facts']) {
      await q.query(`CREATE INDEX ${t}_enrollment_idx ON ${t} (course_id, user_id)`);
    }
    await q.query(`CREATE INDEX membership_facts_user_idx ON membership_facts (user_id)`);

    // The derived projection: one row per enrollment ever seen, with the CourseEnrollments
    // object as last published and the columns the read API filters and sorts on.
    await q.query(`
      CREATE TABLE enrollments (
        course_id bigint NOT NULL,
        user_id bigint NOT NULL,
        id text COLLATE "C" NOT NULL,
        version integer NOT NULL DEFAULT 0,
        deleted boolean NOT NULL DEFAULT false,
        status text NOT NULL,
        join_status text,
        user_completion_rate integer NOT NULL DEFAULT 0,
        state jsonb NOT NULL,
        updated_at timestamptz NOT NULL,
        next_deadline_at timestamptz,
        PRIMARY KEY (course_id, user_id)
      )`);
    await q.query(`CREATE UNIQUE INDEX enrollments_id_idx ON enrollments (id)`);
    await q.query(`CREATE INDEX enrollments_paging_idx ON enrollments (updated_at, id) WHERE NOT deleted`);
    await q.query(`CREATE INDEX enrollments_user_idx ON enrollments (user_id)`);
    await q.query(`CREATE INDEX enrollments_course_join_idx ON enrollments (course_id, join_status) WHERE NOT deleted`);
    await q.query(`CREATE INDEX enrollments_deadline_idx ON enrollments (next_deadline_at) WHERE next_deadline_at IS NOT NULL`);

    // Structure changes touch every enrollment of a course: they are recorded here, in the
    // transaction that stored the fact, and fanned out in chunks outside the consumer's path.
    // Each request bumps the course's generation, which only ever grows; a run completes the
    // generation it read. Work is owed while generation > completed_generation, so a request
    // that arrives mid-run is not lost, and (course, generation) names one request for good.
    await q.query(`
      CREATE TABLE recompute_requests (
        course_id bigint PRIMARY KEY,
        generation bigint NOT NULL DEFAULT 1,
        completed_generation bigint NOT NULL DEFAULT 0,
        cause jsonb NOT NULL,
        requested_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX recompute_requests_pending_idx ON recompute_requests (requested_at) WHERE generation > completed_generation`);

    // Transactional outbox: written in the projection's transaction, drained by the relay.
    await q.query(`
      CREATE TABLE outbox (
        seq bigserial PRIMARY KEY,
        enrollment_id text COLLATE "C" NOT NULL,
        version integer NOT NULL,
        event jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (enrollment_id, version)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [
      'outbox',
      'recompute_requests',
      'enrollments',
      'grade_facts',
      'progress_facts',
      'membership_facts',
      'user_facts',
      'lesson_facts',
      'section_facts',
      'course_facts',
      'processed_events',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
  }
}
