import type { EntityManager } from 'typeorm';

/** Anything that can run parameterised SQL: a DataSource, an EntityManager or a QueryRunner. */
export type Sql = Pick<EntityManager, 'query'>;

/** Column-wise arrays for `unnest($1::t[], $2::t[], ...)` bulk statements. */
export function columns<T, K extends string>(rows: readonly T[], pick: Record<K, (r: T) => unknown>): Record<K, unknown[]> {
  const out = {} as Record<K, unknown[]>;
  for (const k of Object.keys(pick) as K[]) out[k] = rows.map(pick[k]);
  return out;
}

export const json = (v: unknown): string | null => (v === undefined || v === null ? null : JSON.stringify(v));
