import type { Application } from 'express';

type RenderCallback = (err: Error | null, html?: string) => void;
type Engine = (path: string, options: object, callback: RenderCallback) => void;

/**
 * `<link>` elements whose href names another host (`https://…`, `//…`). Bull Board's page links
 * Google Fonts' stylesheet this way; its own CSS names system fonts after the linked ones, so
 * without the link the dashboard looks the same in the system font and the browser fetches
 * nothing from another host.
 */
const FOREIGN_LINK = /<link\b[^>]*\bhref\s*=\s*["']?(?:[a-z][a-z0-9+.-]*:)?\/\/[^>]*>\s*/gi;

export function withoutForeignLinks(html: string): string {
  return html.replace(FOREIGN_LINK, '');
}

/**
 * Renders Bull Board's page through its own view engine, minus the links to other hosts, so the
 * dashboard's CSP can allow its own origin only. Throws at boot if Bull Board no longer renders
 * with an `ejs` engine on its app, rather than serving the page unfiltered.
 */
export function dropForeignLinksFromViews(board: Application): void {
  const engines = (board as unknown as { engines?: Record<string, Engine | undefined> }).engines;
  const render = engines?.['.ejs'];
  if (!render) throw new Error("Bull Board's app has no ejs view engine to wrap: its page could link other hosts");
  board.engine('ejs', (path: string, options: object, callback: RenderCallback) =>
    render(path, options, (err, html) => callback(err, html === undefined ? html : withoutForeignLinks(html))),
  );
}
