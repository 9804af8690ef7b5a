import type { NextFunction, Request, Response } from 'express';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Changes made through the queue dashboard (POST, PUT, PATCH, DELETE) must come from the
 * dashboard's own page. A browser logged in with Basic credentials sends them with any request
 * to this origin, including a form another site posts (`application/x-www-form-urlencoded` or
 * `text/plain` need no CORS preflight), so the credentials alone prove nothing.
 *
 * - With an `Origin` header: it must be this server's own origin (scheme and Host of the
 *   request, the scheme as the trusted proxy reports it) or that of PUBLIC_URL.
 * - Otherwise with `Sec-Fetch-Site`: it must be `same-origin`.
 * - With neither: the client is not a browser (browsers send `Origin` on every cross-origin POST
 *   and every fetch with a body), e.g. curl or a script with a token; it may pass, since it
 *   cannot act with someone else's browser credentials.
 */
export function sameOriginMutations(publicUrl: string) {
  const publicOrigin = publicUrl === '' ? undefined : new URL(publicUrl).origin;
  return (req: Request, res: Response, next: NextFunction): void => {
    if (SAFE_METHODS.has(req.method)) return next();
    const origin = req.headers.origin;
    const site = req.headers['sec-fetch-site'];
    let allowed: boolean;
    if (origin !== undefined) {
      allowed = origin === `${req.protocol}://${req.headers.host ?? ''}` || (publicOrigin !== undefined && origin === publicOrigin);
    } else if (site !== undefined) {
      allowed = site === 'same-origin';
    } else {
      allowed = true;
    }
    if (allowed) return next();
    res.status(403).json({
      statusCode: 403,
      error: 'Forbidden',
      message: "cross-origin request refused: changes to the queues must come from the dashboard's own origin",
    });
  };
}
