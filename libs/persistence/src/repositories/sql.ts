import type { EntityManager } from 'typeorm';

/** Anything that can run parameterised SQL: a DataSource, an EntityManager or a QueryRunner. */
export type Sql = Pick<EntityManager, 'query'>;

export const json = (v: unknown): string | null => (v === undefined || v === null ? null : JSON.stringify(v));

/**
 * The database as the use cases outside this lib see it: queries, and transactions whose work
 * gets a `Sql` bound to the transaction. A TypeORM DataSource is one; the token lets Nest inject
 * it without its users naming TypeORM.
 */
export abstract class Database {
  abstract query: Sql['query'];
  abstract transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T>;
}
