import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Controller, Get, Header, Inject, NotFoundException, Param, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { APP_CONFIG, AppConfig } from '@app/config';
import { Public } from '../http/auth.guard';
import { MethodNotAllowedException, OtherMethods } from '../http/method-not-allowed';
import { QueryParams } from '../http/params';
import { openApiDocument, OPENAPI } from './openapi';

/** Where the documentation page and its assets live; security-headers.ts gives them their own CSP. */
export const DOCS_PATH = '/docs';
export const DOCS_ASSETS_PATH = `${DOCS_PATH}/assets`;

const SWAGGER_UI_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));

/** Starts Swagger UI on the document beside the page; a file rather than inline, so the CSP needs no 'unsafe-inline' script. */
const INIT_SCRIPT = `window.addEventListener('load', function () {
  var page = document.getElementById('swagger-ui');
  // validatorUrl: null, or Swagger UI loads a badge from validator.swagger.io (and the CSP blocks it)
  window.ui = SwaggerUIBundle({ url: page.getAttribute('data-document'), dom_id: '#swagger-ui', deepLinking: true, validatorUrl: null });
});
`;

/** The only files served under /docs/assets: Swagger UI from node_modules (no CDN) and the init script. */
const ASSETS: Record<string, { type: string; load: () => Buffer | string }> = {
  'swagger-ui.css': { type: 'text/css; charset=utf-8', load: () => readFileSync(join(SWAGGER_UI_DIR, 'swagger-ui.css')) },
  'swagger-ui-bundle.js': { type: 'text/javascript; charset=utf-8', load: () => readFileSync(join(SWAGGER_UI_DIR, 'swagger-ui-bundle.js')) },
  'favicon-32x32.png': { type: 'image/png', load: () => readFileSync(join(SWAGGER_UI_DIR, 'favicon-32x32.png')) },
  'docs-init.js': { type: 'text/javascript; charset=utf-8', load: () => INIT_SCRIPT },
};

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The OpenAPI document (`/docs-json`) and Swagger UI rendering it (`/docs`), both open: the
 * document describes the API and holds no data, and a browser cannot send the bearer token the
 * API routes need (README, "Read API").
 */
@Public()
@Controller()
export class DocsController {
  private readonly document: object;
  /** Root-relative prefix of the API as clients see it (PUBLIC_URL's path), for the page's links. */
  private readonly prefix: string;
  private readonly cache = new Map<string, Buffer | string>();

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.document = openApiDocument(config.api.publicUrl);
    this.prefix = config.api.publicUrl === '' ? '' : new URL(config.api.publicUrl).pathname.replace(/\/+$/, '');
  }

  @Get('docs-json')
  json(@Req() req: Request): object {
    QueryParams.of(req, []);
    return this.document;
  }

  @Get('docs')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  html(@Req() req: Request): string {
    QueryParams.of(req, []);
    const assets = `${this.prefix}${DOCS_ASSETS_PATH}`;
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>${escapeHtml(OPENAPI.info.title)}</title>
<link rel="icon" type="image/png" href="${assets}/favicon-32x32.png">
<link rel="stylesheet" href="${assets}/swagger-ui.css">
</head>
<body>
<noscript><p>${escapeHtml(OPENAPI.info.title)}: the OpenAPI document is at <a href="${this.prefix}/docs-json">${this.prefix}/docs-json</a>.</p></noscript>
<div id="swagger-ui" data-document="${this.prefix}/docs-json"></div>
<script src="${assets}/swagger-ui-bundle.js"></script>
<script src="${assets}/docs-init.js"></script>
</body></html>
`;
  }

  @Get('docs/assets/:file')
  asset(@Param('file') file: string, @Req() req: Request, @Res() res: Response): void {
    QueryParams.of(req, []);
    const asset = Object.hasOwn(ASSETS, file) ? ASSETS[file] : undefined;
    if (!asset) throw new NotFoundException(`no documentation asset ${JSON.stringify(file.slice(0, 64))}`);
    let body = this.cache.get(file);
    if (body === undefined) this.cache.set(file, (body = asset.load()));
    res.set('Content-Type', asset.type).set('Cache-Control', 'public, max-age=3600').send(body);
  }

  @OtherMethods('docs-json', 'docs', 'docs/assets/:file')
  otherMethods(@Req() req: Request): never {
    throw new MethodNotAllowedException(req.method);
  }
}
