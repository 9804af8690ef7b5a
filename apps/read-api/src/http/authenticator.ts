import { HttpStatus, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { APP_CONFIG, AppConfig } from '@app/config';
import { AuthFailureLimiter } from './auth-failure-limiter';
import { RetryLaterException } from './retry-later.exception';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * The one check of a presented API token, for the JSON routes (BearerAuthGuard) and the queue
 * dashboard (queuesAuth) alike, with the failed-authentication limit per client address.
 *
 * Tokens are hashed to equal-length digests and compared with `timingSafeEqual` against every
 * configured token (no early exit), so neither the length nor the content of a token leaks
 * through timing. A request that presents no credentials at all is not a guess and is not
 * counted; a wrong or malformed credential is.
 */
@Injectable()
export class Authenticator {
  private readonly tokens: Buffer[];
  readonly limiter: AuthFailureLimiter;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.tokens = config.api.tokens.map(digest);
    this.limiter = new AuthFailureLimiter({ limit: config.api.authFailureLimit, windowMs: config.api.authFailureWindowMs });
  }

  /**
   * Passes when `token` is one of the configured tokens; otherwise throws 401, or 429 with
   * Retry-After while `address` is over its limit. `presented` says whether the request carried
   * credentials (an Authorization header) at all.
   */
  authenticate(address: string, presented: boolean, token: string | undefined, refusal: string): void {
    const wait = this.limiter.retryAfterSeconds(address);
    if (wait > 0) {
      throw new RetryLaterException(HttpStatus.TOO_MANY_REQUESTS, 'too many failed authentications from this address; retry later', wait);
    }
    if (token !== undefined && token.length > 0 && this.matches(token)) return;
    if (presented) this.limiter.recordFailure(address);
    throw new UnauthorizedException(refusal);
  }

  private matches(token: string): boolean {
    const given = digest(token);
    let ok = false;
    for (const t of this.tokens) ok = timingSafeEqual(given, t) || ok;
    return ok;
  }
}
