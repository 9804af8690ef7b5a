import { Client } from 'pg';
import type { AppConfig } from '@app/config';
import { applicationNameOf, pgConnection } from '../data-source';

/**
 * A session-level advisory lock on a connection of its own: held while the session lives, so a
 * crashed holder's lock goes with its connection. `lost` turns true when the session breaks; the
 * holder must stop acting on the lock at once.
 */
export class AdvisoryLockSession {
  private client?: Client;
  private brokenBy?: Error;

  constructor(
    private readonly db: Pick<AppConfig['database'], 'url' | 'ssl' | 'schema'>,
    private readonly who: string,
    private readonly onLost: () => void = () => undefined,
  ) {}

  get lost(): Error | undefined {
    return this.brokenBy;
  }

  /** Tries once to take the lock named `name`; opens the session if needed. */
  async tryAcquire(name: string): Promise<boolean> {
    if (!this.client) {
      const client = new Client({ ...pgConnection(this.db), application_name: applicationNameOf(this.db.schema, this.who) });
      client.on('error', (err) => {
        this.brokenBy = err;
        this.onLost();
      });
      this.brokenBy = undefined;
      await client.connect();
      this.client = client;
    }
    const rows: { locked: boolean }[] = (await this.client.query('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked', [name])).rows;
    return rows[0]?.locked === true;
  }

  /** Ends the session, which releases the lock. */
  async release(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
