import type { Request, Response } from 'express';
import { sameOriginMutations } from './same-origin';

describe('sameOriginMutations', () => {
  const run = (method: string, headers: Record<string, string>, publicUrl = '', protocol = 'http') => {
    const req = { method, protocol, headers: { host: 'api.internal:3000', ...headers } } as unknown as Request;
    let status = 0;
    const res = { status: (s: number) => ((status = s), { json: () => undefined }) } as unknown as Response;
    let passed = false;
    sameOriginMutations(publicUrl)(req, res, () => (passed = true));
    return passed ? 'pass' : status;
  };

  it('never stands in the way of reads', () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS']) expect(run(method, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' })).toBe('pass');
  });

  it.each(['POST', 'PUT', 'PATCH', 'DELETE'])('%s: passes its own origin and refuses any other', (method) => {
    expect(run(method, { origin: 'http://api.internal:3000' })).toBe('pass');
    expect(run(method, { origin: 'https://evil.example' })).toBe(403);
    expect(run(method, { origin: 'null' })).toBe(403);
    expect(run(method, { origin: 'http://api.internal:3000.evil.example' })).toBe(403);
    expect(run(method, { origin: 'https://api.internal:3000' })).toBe(403); // scheme differs
    // Origin decides when both are present
    expect(run(method, { origin: 'https://evil.example', 'sec-fetch-site': 'same-origin' })).toBe(403);
  });

  it('accepts the origin of PUBLIC_URL (behind a proxy that rewrites Host)', () => {
    expect(run('POST', { origin: 'https://lms.example.org' }, 'https://lms.example.org/enrollments')).toBe('pass');
    expect(run('POST', { origin: 'https://lms.example.org.evil' }, 'https://lms.example.org/enrollments')).toBe(403);
  });

  it('falls back to Sec-Fetch-Site without Origin, and lets non-browser clients pass', () => {
    expect(run('POST', { 'sec-fetch-site': 'same-origin' })).toBe('pass');
    for (const site of ['same-site', 'cross-site', 'none']) expect(run('POST', { 'sec-fetch-site': site })).toBe(403);
    expect(run('POST', {})).toBe('pass');
  });
});
