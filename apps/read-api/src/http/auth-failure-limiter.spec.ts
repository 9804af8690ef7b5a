import { AuthFailureLimiter, clientKey } from './auth-failure-limiter';

describe('AuthFailureLimiter', () => {
  const at = (start = 1_000_000) => {
    let t = start;
    return { now: () => t, advance: (ms: number) => (t += ms) };
  };

  it('lets an address fail `limit` times, then asks it to wait until its window ends', () => {
    const clock = at();
    const l = new AuthFailureLimiter({ limit: 3, windowMs: 60_000, now: clock.now });
    for (let i = 0; i < 3; i++) {
      expect(l.retryAfterSeconds('10.0.0.1')).toBe(0);
      l.recordFailure('10.0.0.1');
    }
    expect(l.retryAfterSeconds('10.0.0.1')).toBe(60);
    expect(l.retryAfterSeconds('10.0.0.2')).toBe(0);
    clock.advance(59_001);
    expect(l.retryAfterSeconds('10.0.0.1')).toBe(1);
    clock.advance(999);
    expect(l.retryAfterSeconds('10.0.0.1')).toBe(0);
    l.recordFailure('10.0.0.1'); // a new window
    expect(l.retryAfterSeconds('10.0.0.1')).toBe(0);
  });

  it('does nothing when the limit or the window is 0', () => {
    for (const [limit, windowMs] of [
      [0, 60_000],
      [5, 0],
    ]) {
      const l = new AuthFailureLimiter({ limit, windowMs });
      for (let i = 0; i < 100; i++) l.recordFailure('10.0.0.1');
      expect(l.retryAfterSeconds('10.0.0.1')).toBe(0);
      expect(l.size).toBe(0);
    }
  });

  it('holds at most maxAddresses windows however many addresses fail, dropping expired ones first', () => {
    const clock = at();
    const l = new AuthFailureLimiter({ limit: 2, windowMs: 1000, maxAddresses: 100, now: clock.now });
    for (let i = 0; i < 100_000; i++) l.recordFailure(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    expect(l.size).toBe(100);
    // the most recent addresses are still counted
    l.recordFailure('10.1.134.159');
    expect(l.retryAfterSeconds('10.1.134.159')).toBe(1);
    clock.advance(1000);
    l.recordFailure('192.0.2.1');
    expect(l.size).toBe(1);
  });

  it('counts an IPv6 host by its /64 and an IPv4-mapped address as IPv4', () => {
    const l = new AuthFailureLimiter({ limit: 2, windowMs: 60_000 });
    l.recordFailure('2001:db8:1:2::1');
    l.recordFailure('2001:db8:1:2:ffff:ffff:ffff:ffff');
    expect(l.retryAfterSeconds('2001:db8:1:2::abcd')).toBeGreaterThan(0);
    expect(l.retryAfterSeconds('2001:db8:1:3::1')).toBe(0);
    l.recordFailure('::ffff:192.0.2.7');
    l.recordFailure('192.0.2.7');
    expect(l.retryAfterSeconds('192.0.2.7')).toBeGreaterThan(0);
  });

  it.each([
    ['192.0.2.7', '192.0.2.7'],
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:0db8:0001:0002:0003:0004:0005:0006', '2001:db8:1:2::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
  ])('keys %s as %s', (address, key) => {
    expect(clientKey(address)).toBe(key);
  });
});
