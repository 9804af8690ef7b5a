import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { withoutForeignLinks } from './self-contained-page';

describe('withoutForeignLinks', () => {
  it('drops links to other hosts and keeps the page its own links', () => {
    const html = [
      '<link rel="icon" href="static/images/logo.svg">',
      '<link href="https://fonts.googleapis.com/css2?family=IBM+Plex+Sans&display=swap" rel="stylesheet">',
      "<link rel=preconnect href='//fonts.gstatic.com' crossorigin>",
      '<LINK HREF="http://cdn.example/x.css" REL="stylesheet">',
      '<link href="static/css/main.css" rel="stylesheet">',
    ].join('\n');
    expect(withoutForeignLinks(html)).toBe('<link rel="icon" href="static/images/logo.svg">\n<link href="static/css/main.css" rel="stylesheet">');
  });

  it("removes every link to another host from Bull Board's own page template", () => {
    const template = readFileSync(join(dirname(require.resolve('@bull-board/ui/package.json')), 'dist', 'index.ejs'), 'utf8');
    const links = (html: string) => [...html.matchAll(/<link\b[^>]*>/gi)].map((m) => m[0]);
    expect(links(template).some((l) => /\/\/fonts\./.test(l))).toBe(true);
    const cleaned = withoutForeignLinks(template);
    expect(links(cleaned).filter((l) => /href="(?:[a-z]+:)?\/\//i.test(l))).toEqual([]);
    expect(links(cleaned)).toHaveLength(links(template).length - 1);
  });
});
