import type { NextFunction, Request, Response } from 'express';

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
 * Express middleware guarding the queue dashboard with the API tokens. `matches` is the read
 * API's constant-time token comparison (BearerAuthGuard.matches). A refusal is a 401 with a Basic
 * challenge, so browsers prompt for credentials.
 */
export function queuesAuth(matches: (token: string) => boolean) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const token = presentedToken(req.headers.authorization);
    if (token !== undefined && token.length > 0 && matches(token)) return next();
    res
      .status(401)
      .set('WWW-Authenticate', `Basic realm="${QUEUES_REALM}", charset="UTF-8"`)
      .json({
        statusCode: 401,
        error: 'Unauthorized',
        message: token === undefined ? 'credentials required: Authorization: Bearer <token> or Basic with the token as password' : 'invalid token',
      });
  };
}
