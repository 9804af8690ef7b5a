import helmet from 'helmet';
import type { NextFunction, Request, Response } from 'express';

/**
 * Response headers of every read API response (helmet): `X-Content-Type-Options: nosniff`, no
 * `X-Powered-By`, `X-Frame-Options: DENY` and a CSP that forbids framing (`frame-ancestors
 * 'none'`), plus helmet's cross-origin and referrer defaults.
 *
 * - API responses (JSON, /docs-json) load nothing, so their CSP allows nothing.
 * - The documentation page (/docs, Swagger UI) loads its scripts, styles and images from its
 *   own origin only (served from node_modules, no CDN) and fetches the document from it; Swagger
 *   UI sets inline style attributes and uses data: images in its stylesheet, hence those two.
 * - The queue dashboard (Bull Board) loads everything from its own origin: hashed bundles and
 *   stylesheets (the page's link to Google Fonts is dropped, see self-contained-page.ts), a
 *   syntax-highlighting worker, its JSON API, and data: images its scripts build. Its page has
 *   inline style attributes and a <style> block, and its scripts add <style> elements (theme,
 *   editor), hence 'unsafe-inline' for styles only; its JSON data block is not a script.
 *
 * HSTS is left to the TLS terminator in front of the API (this server speaks plain HTTP, and
 * `includeSubDomains` is a decision about the whole domain).
 */
export function securityHeaders(dashboardPath: string, docsPath = '/docs'): (req: Request, res: Response, next: NextFunction) => void {
  const common = { strictTransportSecurity: false, xFrameOptions: { action: 'deny' as const } };
  const api = helmet({
    ...common,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
    },
  });
  const dashboard = helmet({
    ...common,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        fontSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        workerSrc: ["'self'"],
        frameAncestors: ["'none'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
      },
    },
  });
  const docs = helmet({
    ...common,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
      },
    },
  });
  const under = (path: string, base: string): boolean => path === base || path.startsWith(`${base}/`);
  return (req, res, next) => {
    const path = (req.originalUrl ?? req.url).split('?')[0];
    (under(path, dashboardPath) ? dashboard : under(path, docsPath) ? docs : api)(req, res, next);
  };
}
