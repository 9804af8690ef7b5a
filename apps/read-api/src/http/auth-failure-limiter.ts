import { isIP } from 'node:net';

export interface AuthFailureLimiterOptions {
  /** Failed authentications an address may make per window; 0 = no limit. */
  limit: number;
  /** Window length; 0 = no limit. */
  windowMs: number;
  /** Addresses tracked at once; the oldest window is forgotten first when full. */
  maxAddresses?: number;
  now?: () => number;
}

/** Addresses tracked at once: about 1 MB at most, whatever an attacker rotating addresses does. */
export const AUTH_FAILURE_MAX_ADDRESSES = 10_000;

interface Window {
  start: number;
  failures: number;
}

/**
 * Counts failed authentications per client address in fixed windows that open at an address's
 * first failure. Once an address has failed `limit` times, every authenticated request from it is
 * refused until its window ends, whether or not its token is right: otherwise the difference
 * between 401 and 200 would keep telling a guesser when it has found a token.
 *
 * Memory is bounded: at most `maxAddresses` windows, kept in opening order, so expired ones are
 * dropped from the front and, when still full, the oldest live one is forgotten. An attacker
 * rotating through more addresses than that only frees its oldest addresses early, each of which
 * was limited on its own anyway. IPv6 clients are counted per /64, the smallest block a host
 * usually holds, so one host cannot rotate through its own addresses.
 */
export class AuthFailureLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly maxAddresses: number;
  private readonly now: () => number;

  constructor(private readonly options: AuthFailureLimiterOptions) {
    this.maxAddresses = options.maxAddresses ?? AUTH_FAILURE_MAX_ADDRESSES;
    this.now = options.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.options.limit > 0 && this.options.windowMs > 0;
  }

  /** Whole seconds `address` must wait before it may authenticate again; 0 when it may now. */
  retryAfterSeconds(address: string): number {
    if (!this.enabled) return 0;
    const w = this.windows.get(clientKey(address));
    if (!w || w.failures < this.options.limit) return 0;
    const left = w.start + this.options.windowMs - this.now();
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  recordFailure(address: string): void {
    if (!this.enabled) return;
    const key = clientKey(address);
    const now = this.now();
    const w = this.windows.get(key);
    if (w && now < w.start + this.options.windowMs) {
      w.failures++;
      return;
    }
    if (w) this.windows.delete(key); // expired: reopen at the back, in opening order
    this.evict(now);
    this.windows.set(key, { start: now, failures: 1 });
  }

  /** Windows currently held (for tests and the bound). */
  get size(): number {
    return this.windows.size;
  }

  private evict(now: number): void {
    for (const [key, w] of this.windows) {
      if (now < w.start + this.options.windowMs) break;
      this.windows.delete(key);
    }
    while (this.windows.size >= this.maxAddresses) {
      const oldest = this.windows.keys().next().value as string;
      this.windows.delete(oldest);
    }
  }
}

/** The key an address is counted under: IPv4 as is (also when IPv4-mapped), IPv6 by its /64. */
export function clientKey(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1];
  if (isIP(address) !== 6) return address;
  const zoneless = address.split('%')[0].toLowerCase();
  const [head, tail = ''] = zoneless.includes('::') ? zoneless.split('::') : [zoneless, undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = zoneless.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
