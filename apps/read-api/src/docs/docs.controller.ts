import { Controller, Get, Header } from '@nestjs/common';
import { OPENAPI } from './openapi';

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The OpenAPI document (`/docs-json`) and a minimal, script-free HTML rendering of it (`/docs`). */
@Controller()
export class DocsController {
  @Get('docs-json')
  json(): object {
    return OPENAPI;
  }

  @Get('docs')
  @Header('Content-Type', 'text/html; charset=utf-8')
  html(): string {
    const rows = Object.entries(OPENAPI.paths)
      .flatMap(([path, ops]) =>
        Object.entries(ops as Record<string, { summary: string }>).map(
          ([method, op]) => `<tr><td><code>${method.toUpperCase()}</code></td><td><code>${escapeHtml(path)}</code></td><td>${escapeHtml(op.summary)}</td></tr>`,
        ),
      )
      .join('\n');
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(OPENAPI.info.title)}</title></head>
<body>
<h1>${escapeHtml(OPENAPI.info.title)}</h1>
<p>${escapeHtml(OPENAPI.info.description)}</p>
<p>OpenAPI 3.1 JSON: <a href="docs-json">/docs-json</a></p>
<table border="1" cellpadding="4"><thead><tr><th>method</th><th>path</th><th>summary</th></tr></thead><tbody>
${rows}
</tbody></table>
<h2>Document</h2>
<pre>${escapeHtml(JSON.stringify(OPENAPI, null, 2))}</pre>
</body></html>`;
  }
}
