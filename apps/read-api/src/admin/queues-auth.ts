import { HttpException } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { clientAddress } from '../http/auth.guard';
import type { Authenticator } from '../http/authenticator';
import { RetryLaterException } from '../http/retry-later.exception';

export const QUEUES_REALM = 'enrollment-sync queues';

/**
 * The token a request presents: `Authorization: Bearer <token>`, or HTTP Basic whose password is
 * the token (any user name), so a browser can log in to the dashboard. Undefined when neither.
 */
export function presentedToken(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const bearer = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  if (bearer) return bearer[1];
  const basic = /^Basic[ ]+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  if (!basic) return undefined;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

/**
 * Express middleware guarding the queue dashboard with the API tokens and the same
 * failed-authentication limit as the API routes. A refusal is a 401 with a Basic challenge, so
 * browsers prompt for credentials; an address over its limit gets 429 with Retry-After.
 */
export function queuesAuth(auth: Authenticator) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const token = presentedToken(req.headers.authorization);
    auth
      .authenticate(
        clientAddress(req),
        req.headers.authorization !== undefined,
        token,
        token === undefined ? 'credentials required: Authorization: Bearer <token> or Basic with the token as password' : 'invalid token',
      )
      .then(
        () => next(),
        (err: unknown) => {
          if (!(err instanceof HttpException)) return next(err);
          const status = err.getStatus();
          if (err instanceof RetryLaterException) res.set('Retry-After', String(err.retryAfterSeconds));
          else res.set('WWW-Authenticate', `Basic realm="${QUEUES_REALM}", charset="UTF-8"`);
          res.status(status).json({ statusCode: status, error: status === 429 ? 'Too Many Requests' : 'Unauthorized', message: err.message });
        },
      );
  };
}
