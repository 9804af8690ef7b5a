import { CanActivate, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { Authenticator } from './authenticator';

export const IS_PUBLIC = 'read-api:public';
/** Marks a controller or route as reachable without a bearer token (health and metrics only). */
export const Public = (): ClassDecorator & MethodDecorator => SetMetadata(IS_PUBLIC, true);

/** `Authorization: Bearer <token>` with one of the configured tokens on every route not marked @Public. */
@Injectable()
export class BearerAuthGuard implements CanActivate {
  constructor(
    private readonly auth: Authenticator,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [ctx.getHandler(), ctx.getClass()])) return true;
    const req = ctx.switchToHttp().getRequest<Request>();
    const header = req.headers.authorization;
    const m = typeof header === 'string' ? /^Bearer[ ]+(\S+)\s*$/i.exec(header) : null;
    await this.auth.authenticate(
      clientAddress(req),
      header !== undefined,
      m?.[1],
      m ? 'invalid bearer token' : 'missing or malformed Authorization: Bearer <token> header',
    );
    return true;
  }
}

/** The client's address: the peer, or with TRUST_PROXY what the trusted proxies say (Express `req.ip`). */
export const clientAddress = (req: Request): string => req.ip ?? req.socket.remoteAddress ?? 'unknown';
