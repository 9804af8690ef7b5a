import type { EntityManager } from 'typeorm';

/** Anything that can run parameterised SQL: a DataSource, an EntityManager or a QueryRunner. */
export type Sql = Pick<EntityManager, 'query'>;

export const json = (v: unknown): string | null => (v === undefined || v === null ? null : JSON.stringify(v));
