import type { DataSource } from 'typeorm';

/**
 * The read API's two connections: `primary` (DATABASE_URL), where the writers run and so where
 * the write horizon is read, and `reader` (DATABASE_READ_URL), which serves the lists and views.
 * Without DATABASE_READ_URL both are the same DataSource, one pool.
 */
export class ReadDatabases {
  constructor(
    readonly primary: DataSource,
    readonly reader: DataSource,
  ) {}

  /** Whether the reader is a connection of its own (possibly a replica that lags). */
  get separate(): boolean {
    return this.reader !== this.primary;
  }
}
