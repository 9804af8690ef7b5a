import type { Request, Response } from 'express';
import { createHash } from 'node:crypto';

/**
 * Marks a response as revalidated on every use (`private, no-cache`) under `etag`, and says
 * whether the client already holds it (an `If-None-Match` tag equal to it, compared weakly, or
 * `*`). Then the caller returns an empty object without building the representation, and Express
 * sends 304 with no body (`res.send` does so for a request it judges fresh).
 */
export function notModified(req: Request, res: Response, etag: string): boolean {
  res.setHeader('ETag', etag);
  res.setHeader('Cache-Control', 'private, no-cache');
  const header = req.get('if-none-match');
  const bare = (t: string) => t.trim().replace(/^W\//, '');
  const match = header !== undefined && header.split(',').some((t) => t.trim() === '*' || bare(t) === bare(etag));
  // Express does not judge a request carrying `Cache-Control: no-cache` fresh, and fetch()
  // adds that to every request with If-None-Match; the origin answers 304 to a matching tag
  // whatever a cache was told (RFC 9110, 13.1.2), so the decision made here is the one sent.
  if (match) Object.defineProperty(req, 'fresh', { value: true, configurable: true });
  return match;
}

/** A strong ETag naming a representation by the versions it was built from. */
export function versionTag(...parts: readonly (string | number | null | undefined)[]): string {
  return `"${createHash('sha256')
    .update(parts.map((p) => String(p ?? '')).join('\n'))
    .digest('base64url')
    .slice(0, 27)}"`;
}
