import { HttpStatus, Inject, Injectable, OnApplicationShutdown, OnModuleInit, UnauthorizedException } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '@app/config';
import { RetryLaterException } from './retry-later.exception';
import { SharedAuthFailureLimiter } from './shared-auth-failure-limiter';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * The one check of a presented API token, for the JSON routes (BearerAuthGuard) and the queue
 * dashboard (queuesAuth) alike, with the failed-authentication limit per client address, shared
 * by every replica through Redis (SharedAuthFailureLimiter).
 *
 * Tokens are hashed to equal-length digests and compared with `timingSafeEqual` against every
 * configured token (no early exit), so neither the length nor the content of a token leaks
 * through timing. A request that presents no credentials at all is not a guess and is not
 * counted; a wrong or malformed credential is.
 */
@Injectable()
export class Authenticator implements OnModuleInit, OnApplicationShutdown {
  private readonly tokens: Buffer[];
  private readonly limiter: SharedAuthFailureLimiter;

  constructor(@Inject(APP_CONFIG) config: AppConfig, logger: PinoLogger) {
    logger.setContext(Authenticator.name);
    this.tokens = config.api.tokens.map(digest);
    this.limiter = new SharedAuthFailureLimiter({
      limit: config.api.authFailureLimit,
      windowMs: config.api.authFailureWindowMs,
      redis: config.redis,
      log: logger,
    });
  }

  /**
   * Passes when `token` is one of the configured tokens; otherwise throws 401, or 429 with
   * Retry-After while `address` is over its limit. `presented` says whether the request carried
   * credentials (an Authorization header) at all.
   */
  async authenticate(address: string, presented: boolean, token: string | undefined, refusal: string): Promise<void> {
    const wait = await this.limiter.retryAfterSeconds(address);
    if (wait > 0) {
      throw new RetryLaterException(HttpStatus.TOO_MANY_REQUESTS, 'too many failed authentications from this address; retry later', wait);
    }
    if (token !== undefined && token.length > 0 && this.matches(token)) return;
    if (presented) await this.limiter.recordFailure(address);
    throw new UnauthorizedException(refusal);
  }

  async onModuleInit(): Promise<void> {
    await this.limiter.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.limiter.close();
  }

  private matches(token: string): boolean {
    const given = digest(token);
    let ok = false;
    for (const t of this.tokens) ok = timingSafeEqual(given, t) || ok;
    return ok;
  }
}
