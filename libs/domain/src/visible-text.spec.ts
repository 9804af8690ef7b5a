import { hasVisibleText } from './visible-text';

describe('hasVisibleText', () => {
  it('is false for empty, white space and invisible characters only', () => {
    for (const s of [
      null,
      undefined,
      '',
      ' \t\n\u00a0\u3000',
      '\u200b',
      '\u200c\u200d\u2060',
      '\ufeff',
      '\u00ad',
      '\u034f',
      '\ufe0f',
      '\u115f\u1160\u3164',
      '\u202e\u2066\u2069',
      '\u{e0001}\u{e0020}',
    ]) {
      expect({ s, visible: hasVisibleText(s) }).toEqual({ s, visible: false });
    }
  });

  it('is true once one character shows, whatever surrounds it', () => {
    for (const s of ['a', ' \u200bx\u200b ', 'José', 'jose\u0301', '\u0301', '李', '\u{1f600}', '.', '\u2800']) {
      expect({ s, visible: hasVisibleText(s) }).toEqual({ s, visible: true });
    }
  });
});
