import { Injectable } from '@nestjs/common';
import { ReadDatabases } from './read-databases';

/** The read API's liveness queries on each of its databases, for readiness. */
@Injectable()
export class DatabaseHealthRepository {
  constructor(private readonly dbs: ReadDatabases) {}

  /** DATABASE_URL, where the write horizon is read. */
  async pingPrimary(): Promise<void> {
    await this.dbs.primary.query('SELECT 1');
  }

  /** DATABASE_READ_URL (the primary when unset), where the lists and views are read. */
  async pingReader(): Promise<void> {
    await this.dbs.reader.query('SELECT 1');
  }
}
