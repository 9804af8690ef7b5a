/**
 * Projection specs in given/when/then form, on a real Postgres schema:
 *
 *   spec.given(...facts).when(...input).then(...expectations)
 *
 * `given` steps build the state the spec starts from, `when` steps are what the spec is about,
 * and each expectation reads what they left: the values the `when` steps returned, the
 * `enrollments` rows, and the `outbox` events. A step is one slice of input messages (applied in
 * one transaction, as the consumer does), a single message (a slice of one), or a job run
 * (`run(ctx => ctx.recompute.run(42))`). Every `given` starts from empty tables, so a spec states
 * everything it relies on; the schema is created once per spec file (`projectionSpec()` inside a
 * `describe`) and dropped after it.
 */
import { isDeepStrictEqual } from 'node:util';
import { DataSource } from 'typeorm';
import type { InputMessage } from '@app/workload';
import { projectionFixture, PublishedEvent } from './projection';

type Fixture = Awaited<ReturnType<typeof projectionFixture>>;

/** What a job step can use: the projection's use cases on the spec's schema. */
export type SpecContext = Pick<Fixture, 'ds' | 'recompute' | 'sweep' | 'rebuild' | 'pendingRecomputes' | 'config'>;

export interface JobStep {
  run: (ctx: SpecContext) => Promise<unknown>;
}
export type Step = InputMessage | InputMessage[] | JobStep;

/** A job run as a step; what it returns is that step's result. */
export const run = (fn: (ctx: SpecContext) => Promise<unknown>): JobStep => ({ run: fn });

/** What the `when` steps left, for the expectations to read. */
export interface WhenResult {
  /** Per `when` step: the outcomes of its messages, or what its job returned. */
  results: unknown[];
  ds: DataSource;
  /** Every outbox event of a key, in version order (since the spec's `given`). */
  published(id: string): Promise<PublishedEvent[]>;
  /** The outbox events of a key (or of all keys) the `when` steps appended. */
  publishedByWhen(id?: string): Promise<PublishedEvent[]>;
}

export type Expectation = (r: WhenResult) => Promise<void> | void;

/** Each `when` step returned this (outcomes compared exactly; job results as `toMatchObject`). */
export const returned =
  (...expected: unknown[]): Expectation =>
  (r) => {
    expect(r.results).toMatchObject(expected);
  };

/** Every event published for the key, in version order, each matching its expectation. */
export const published =
  (id: string, expected: Partial<Record<keyof PublishedEvent, unknown>>[]): Expectation =>
  async (r) => {
    expect(await r.published(id)).toMatchObject(expected);
  };

/** The events the `when` steps published for the key, each matching its expectation. */
export const publishedByWhen =
  (id: string, expected: Partial<Record<keyof PublishedEvent, unknown>>[]): Expectation =>
  async (r) => {
    expect(await r.publishedByWhen(id)).toMatchObject(expected);
  };

/** The `when` steps published nothing (for the key, or at all). */
export const nothingPublished =
  (id?: string): Expectation =>
  async (r) => {
    expect(await r.publishedByWhen(id)).toEqual([]);
  };

/** The key's row in `enrollments` (`deleted`, `version`, `state`) matches. */
export const enrollmentRow =
  (id: string, expected: { deleted?: boolean; version?: number; state?: unknown }): Expectation =>
  async (r) => {
    const rows = await r.ds.query(`SELECT deleted, version, state FROM enrollments WHERE id = $1`, [id]);
    expect(rows).toMatchObject([expected]);
  };

/** Anything else the spec needs to read (a fact table, a count). */
export const check = (fn: Expectation): Expectation => fn;

/**
 * Inside `toMatchObject` expectations, matches only a deep-equal value: where a partial match
 * would let extra fields through (a cause, a user) and the spec means the whole object.
 */
export function exactly<T>(value: T): T {
  return {
    $$typeof: Symbol.for('jest.asymmetricMatcher'),
    asymmetricMatch: (actual: unknown) => isDeepStrictEqual(actual, value),
    toAsymmetricMatcher: () => `exactly(${JSON.stringify(value)})`,
  } as unknown as T;
}

/**
 * Registers a schema for the enclosing `describe` (created before its specs, dropped after) and
 * returns the spec builder. `overrides` are env variables of the run's config.
 */
export function projectionSpec(overrides: Record<string, string> = {}) {
  let f: Fixture | undefined;
  beforeAll(async () => {
    f = await projectionFixture(overrides);
  });
  afterAll(async () => f?.close());

  const fixture = (): Fixture => {
    if (!f) throw new Error('projectionSpec() must be called inside a describe block, before its specs run');
    return f;
  };

  async function reset(fx: Fixture): Promise<void> {
    const tables: { name: string }[] = await fx.ds.query(`SELECT tablename AS name FROM pg_tables WHERE schemaname = $1 AND tablename <> 'schema_migrations'`, [
      fx.config.database.schema,
    ]);
    // Names come from the catalog, not from input; identifiers cannot be bound as parameters.
    const list = tables.map((t) => `"${fx.config.database.schema}"."${t.name.replace(/"/g, '""')}"`).join(', ');
    if (list) await fx.ds.query(`TRUNCATE ${list} RESTART IDENTITY`);
  }

  async function perform(fx: Fixture, step: Step): Promise<unknown> {
    if (!Array.isArray(step) && 'run' in step) return step.run(fx);
    return fx.apply(...(Array.isArray(step) ? step : [step]));
  }

  return {
    given(...given: Step[]) {
      return {
        when(...when: Step[]) {
          return {
            async then(...expectations: Expectation[]): Promise<void> {
              const fx = fixture();
              await reset(fx);
              for (const step of given) await perform(fx, step);
              const [{ seq }] = await fx.ds.query(`SELECT coalesce(max(seq), 0)::text AS seq FROM outbox`);
              const results: unknown[] = [];
              for (const step of when) results.push(await perform(fx, step));
              const result: WhenResult = {
                results,
                ds: fx.ds,
                published: (id) => fx.published(id),
                async publishedByWhen(id) {
                  const rows: { event: { type: string; data: Omit<PublishedEvent, 'type'> } }[] = await fx.ds.query(
                    `SELECT event FROM outbox WHERE seq > $1 AND ($2::text IS NULL OR enrollment_id = $2) ORDER BY seq`,
                    [seq, id ?? null],
                  );
                  return rows.map((row) => ({ type: row.event.type, ...row.event.data }));
                },
              };
              for (const expectation of expectations) await expectation(result);
            },
          };
        },
      };
    },
  };
}
