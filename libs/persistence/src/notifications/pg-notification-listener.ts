import { Client } from 'pg';
import type { AppConfig } from '@app/config';
import { applicationNameOf, pgConnection } from '../data-source';

export interface NotificationSubscriber {
  /** A NOTIFY arrived on the channel. */
  notified(): void;
  /**
   * The listener's connection went down (true) or is listening again (false). While down,
   * NOTIFYs are lost: the subscriber polls; on the way back it should read once, since what
   * was notified during the outage is pending.
   */
  listenerDown?(down: boolean): void;
}

export interface ListenerLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

const CHANNEL = /^[a-z_][a-z0-9_]*$/;
const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 10_000;

/**
 * The process's one LISTEN session: a dedicated pg connection (LISTEN needs a session of its
 * own, a pooled one would hand the registration to whoever borrows it next) that listens on
 * every channel a subscriber registered. When the connection breaks it tells the subscribers
 * (they poll meanwhile) and reconnects with a doubling backoff, then LISTENs again and tells
 * them it is back. It connects on the first subscription, so a process that subscribes to
 * nothing opens no session.
 */
export class PgNotificationListener {
  private readonly subscribers = new Map<string, Set<NotificationSubscriber>>();
  private client?: Client;
  private connecting?: Promise<void>;
  private retryMs = FIRST_RETRY_MS;
  private retryTimer?: NodeJS.Timeout;
  private closed = false;
  private up = false;

  constructor(
    private readonly db: Pick<AppConfig['database'], 'url' | 'ssl' | 'schema'>,
    private readonly who: string,
    private readonly log?: ListenerLog,
  ) {}

  /** Whether NOTIFYs are being received right now. */
  get listening(): boolean {
    return this.up;
  }

  /** Registers `subscriber` on `channel`; returns its unsubscribe. */
  subscribe(channel: string, subscriber: NotificationSubscriber): () => void {
    if (!CHANNEL.test(channel)) throw new Error(`not a plain channel name: ${channel}`);
    const set = this.subscribers.get(channel) ?? new Set<NotificationSubscriber>();
    const isNew = set.size === 0;
    set.add(subscriber);
    this.subscribers.set(channel, set);
    if (!this.up) subscriber.listenerDown?.(true);
    if (this.client && this.up && isNew) {
      void this.client.query(`LISTEN ${channel}`).catch((err: unknown) => this.broken(err));
    }
    if (!this.client && !this.connecting && !this.retryTimer) this.connect();
    return () => {
      set.delete(subscriber);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    await this.connecting;
    const client = this.client;
    this.client = undefined;
    this.up = false;
    await client?.end().catch(() => undefined);
  }

  private connect(): void {
    if (this.closed) return;
    const client = new Client({ ...pgConnection(this.db), application_name: applicationNameOf(this.db.schema, this.who) });
    client.on('error', (err) => {
      if (this.client === client) this.broken(err);
    });
    client.on('notification', (n) => {
      for (const s of this.subscribers.get(n.channel) ?? []) s.notified();
    });
    this.connecting = (async () => {
      try {
        await client.connect();
        // The names are checked against CHANNEL above: LISTEN takes no parameters.
        for (const channel of this.subscribers.keys()) await client.query(`LISTEN ${channel}`);
      } catch (err) {
        await client.end().catch(() => undefined);
        this.connecting = undefined;
        this.retry(err);
        return;
      }
      this.connecting = undefined;
      if (this.closed) {
        await client.end().catch(() => undefined);
        return;
      }
      this.client = client;
      this.up = true;
      this.retryMs = FIRST_RETRY_MS;
      this.log?.info({ channels: [...this.subscribers.keys()] }, 'listening for notifications');
      this.tell(false);
    })();
  }

  private broken(err: unknown): void {
    const client = this.client;
    this.client = undefined;
    this.up = false;
    void client?.end().catch(() => undefined);
    this.tell(true);
    this.retry(err);
  }

  private retry(err: unknown): void {
    if (this.closed) return;
    const waitMs = this.retryMs;
    this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
    this.log?.warn({ err, retryInMs: waitMs }, 'notification listener down; subscribers poll until it is back');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect();
    }, waitMs);
    this.retryTimer.unref();
  }

  private tell(down: boolean): void {
    for (const set of this.subscribers.values()) for (const s of set) s.listenerDown?.(down);
  }
}
