import { CanActivate, ExecutionContext, Inject, Injectable, SetMetadata, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { APP_CONFIG, AppConfig } from '@app/config';

export const IS_PUBLIC = 'read-api:public';
/** Marks a controller or route as reachable without a bearer token (health and metrics only). */
export const Public = (): ClassDecorator & MethodDecorator => SetMetadata(IS_PUBLIC, true);

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * `Authorization: Bearer <token>` must equal one of the configured tokens. Both sides are hashed
 * to equal-length digests and compared with `timingSafeEqual` against every token (no early exit),
 * so neither the length nor the content of a token leaks through timing.
 */
@Injectable()
export class BearerAuthGuard implements CanActivate {
  private readonly tokens: Buffer[];

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly reflector: Reflector,
  ) {
    this.tokens = config.api.tokens.map(digest);
  }

  canActivate(ctx: ExecutionContext): boolean {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [ctx.getHandler(), ctx.getClass()])) return true;
    const req = ctx.switchToHttp().getRequest<Request>();
    const header = req.headers.authorization;
    const m = typeof header === 'string' ? /^Bearer[ ]+(\S+)\s*$/i.exec(header) : null;
    if (!m) throw new UnauthorizedException('missing or malformed Authorization: Bearer <token> header');
    if (!this.matches(m[1])) throw new UnauthorizedException('invalid bearer token');
    return true;
  }

  matches(token: string): boolean {
    const given = digest(token);
    let ok = false;
    for (const t of this.tokens) ok = timingSafeEqual(given, t) || ok;
    return ok;
  }
}
