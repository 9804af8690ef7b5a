import { createHash } from 'node:crypto';
import Redis from 'ioredis';
import type { AppConfig } from '@app/config';
import { redisTlsOptions } from '@app/jobs';
import { AuthFailureLimiter, clientKey } from './auth-failure-limiter';

/** How long a request waits for Redis before the limit falls back to this process's own count. */
export const AUTH_FAILURE_REDIS_TIMEOUT_MS = 500;
/** How long boot waits for the first connection (then requests use the local count until it is up). */
const CONNECT_WAIT_MS = 2000;

/** One more failure; the counter's TTL is the window, set by the failure that opens it. */
const RECORD = `
local n = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`;

/** Milliseconds left in the address's window once it has reached the limit; 0 while it has not. */
const CHECK = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n < tonumber(ARGV[1]) then return 0 end
local left = redis.call('PTTL', KEYS[1])
if left < 0 then return 0 end
return left`;

export interface LimiterLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/**
 * The failed-authentication limit of AuthFailureLimiter, counted in Redis so that every read API
 * replica sees the same count: one counter per client address (IPv6 per /64) under
 * `<QUEUE_PREFIX>:auth-failures:`, named by a hash of the address (bounded length, no address in
 * clear in Redis), whose TTL is the window opened by the address's first failure; it goes by
 * itself when the window ends.
 *
 * Every failure is also counted in this process, and an address is refused while either count
 * says so. While Redis does not answer or does not take the count (down, full, or slower than
 * AUTH_FAILURE_REDIS_TIMEOUT_MS), the in-process count still limits: a guesser gets at most
 * `limit` per replica per window, as before the count was shared, and never an unlimited run;
 * requests with a right token are served. Falling back is logged once, and so is the first
 * failure Redis counts again.
 */
export class SharedAuthFailureLimiter {
  private readonly local: AuthFailureLimiter;
  private readonly redis?: Redis;
  private readonly keyPrefix: string;
  private degraded = false;

  constructor(private readonly options: { limit: number; windowMs: number; redis: AppConfig['redis']; log: LimiterLog }) {
    this.local = new AuthFailureLimiter({ limit: options.limit, windowMs: options.windowMs });
    this.keyPrefix = `${options.redis.queuePrefix}:auth-failures:`;
    if (!this.local.enabled) return;
    this.redis = new Redis(options.redis.url, {
      lazyConnect: true,
      // A request must not queue behind a reconnecting Redis: it uses the local count instead.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: AUTH_FAILURE_REDIS_TIMEOUT_MS,
      ...redisTlsOptions(options.redis),
    });
    this.redis.on('error', () => undefined); // logged by the first request that needs Redis
  }

  get enabled(): boolean {
    return this.local.enabled;
  }

  /**
   * Connects, waiting a moment for it: without the offline queue, a request made while the first
   * connection is still being set up would count locally. Never throws; ioredis keeps retrying.
   */
  async connect(): Promise<void> {
    if (!this.redis) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.redis.connect().catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, CONNECT_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  /** The Redis key `address` is counted under. */
  key(address: string): string {
    return this.keyPrefix + createHash('sha256').update(clientKey(address)).digest('hex').slice(0, 32);
  }

  /** Whole seconds `address` must wait before it may authenticate again; 0 when it may now. */
  async retryAfterSeconds(address: string): Promise<number> {
    if (!this.enabled) return 0;
    const left = await this.shared(false, async () => Number(await this.redis!.eval(CHECK, 1, this.key(address), String(this.options.limit))));
    // The local count too: a Redis that answers reads but refuses the writes (maxmemory) holds no count.
    return Math.max(Math.ceil((left ?? 0) / 1000), this.local.retryAfterSeconds(address));
  }

  async recordFailure(address: string): Promise<void> {
    if (!this.enabled) return;
    this.local.recordFailure(address);
    await this.shared(true, () => this.redis!.eval(RECORD, 1, this.key(address), String(this.options.windowMs)));
  }

  async close(): Promise<void> {
    this.redis?.disconnect();
  }

  /**
   * `op`'s result, or undefined when Redis did not give one. Only a write that succeeds ends the
   * fallback: reads alone can succeed on a Redis that refuses every write.
   */
  private async shared<T>(write: boolean, op: () => Promise<T>): Promise<T | undefined> {
    try {
      const result = await op();
      if (write && this.degraded) {
        this.degraded = false;
        this.options.log.info({}, 'Redis counts failed authentications again: the limit is shared across replicas again');
      }
      return result;
    } catch (err) {
      if (!this.degraded) {
        this.degraded = true;
        this.options.log.warn(
          { err: (err as Error)?.message ?? String(err) },
          'Redis does not count failed authentications: they are limited per process (AUTH_FAILURE_LIMIT per replica) until it does',
        );
      }
      return undefined;
    }
  }
}
