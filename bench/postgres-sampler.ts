import { Client } from 'pg';
import { pgConnection } from '@app/persistence';
import type { AppConfig } from '@app/config';

/**
 * Postgres time of one run, estimated by sampling `pg_stat_activity`: every `everyMs`, the
 * run's backends (their `application_name` starts with the run's schema) that are executing a
 * statement. Active backends × sampling period ≈ backend-seconds spent in statements, lock
 * waits and commit flushes included; the bench's own session (`<schema>/bench`) is left out. pg_stat_statements would be exact but is not loaded on a
 * stock server, and pg_stat_database counts every session of the database, other runs' too.
 */
export interface PostgresTime {
  samples: number;
  /** Backend-seconds executing the run's statements. */
  activeSeconds: number;
  /** Of which waiting on a heavyweight lock (row or advisory lock of another transaction). */
  lockSeconds: number;
  /** Of which waiting on I/O (WAL flush at commit, data file reads and writes). */
  ioSeconds: number;
  /** Of which the relay's statements (every outbox statement but the projection's INSERT). */
  relaySeconds: number;
}

const SAMPLE_SQL = `
  SELECT count(*)::int AS active,
         count(*) FILTER (WHERE wait_event_type = 'Lock')::int AS lock,
         count(*) FILTER (WHERE wait_event_type = 'IO')::int AS io,
         count(*) FILTER (WHERE query ~* '\\moutbox\\M' AND query !~* 'INSERT\\s+INTO\\s+outbox')::int AS relay
    FROM pg_stat_activity
   WHERE state = 'active' AND pid <> pg_backend_pid() AND starts_with(application_name, $1) AND application_name <> $2`;

export class PostgresSampler {
  private readonly client: Client;
  private timer?: NodeJS.Timeout;
  private busy = false;
  private stopped = false;
  private last = 0;
  private readonly acc: PostgresTime = { samples: 0, activeSeconds: 0, lockSeconds: 0, ioSeconds: 0, relaySeconds: 0 };

  constructor(
    private readonly db: AppConfig['database'],
    private readonly everyMs = 100,
  ) {
    this.client = new Client({ ...pgConnection(db), application_name: 'bench-sampler' });
  }

  async start(): Promise<void> {
    await this.client.connect();
    this.last = performance.now();
    this.timer = setInterval(() => void this.sample(), this.everyMs);
  }

  /** Stops sampling and returns the totals since start. */
  async stop(): Promise<PostgresTime> {
    clearInterval(this.timer);
    if (!this.stopped) {
      this.stopped = true;
      await this.client.end().catch(() => undefined);
    }
    return { ...this.acc };
  }

  private async sample(): Promise<void> {
    if (this.busy) return; // a slow sample is not stacked; the next one covers the gap
    this.busy = true;
    try {
      const { rows } = await this.client.query<{ active: number; lock: number; io: number; relay: number }>(SAMPLE_SQL, [
        `${this.db.schema}/`,
        `${this.db.schema}/bench`,
      ]);
      const now = performance.now();
      const dt = (now - this.last) / 1000;
      this.last = now;
      const r = rows[0];
      this.acc.samples++;
      this.acc.activeSeconds += r.active * dt;
      this.acc.lockSeconds += r.lock * dt;
      this.acc.ioSeconds += r.io * dt;
      this.acc.relaySeconds += r.relay * dt;
    } catch {
      // the run's teardown may end the sampler's session first; the totals so far stand
    } finally {
      this.busy = false;
    }
  }
}
