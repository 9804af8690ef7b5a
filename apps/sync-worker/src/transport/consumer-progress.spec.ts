import { ConsumerProgress } from './consumer-progress';

function gauge() {
  const values = new Map<string, number>();
  return {
    values,
    set: (labels: { topic: string; partition: string }, v: number) => void values.set(`${labels.topic}/${labels.partition}`, v),
    remove: (labels: { topic: string; partition: string }) => void values.delete(`${labels.topic}/${labels.partition}`),
  };
}

describe('ConsumerProgress', () => {
  let now = 0;
  const clock = () => now;
  beforeEach(() => (now = 1_000_000));

  it('is not joined until the group assigns partitions, and not after it leaves', () => {
    const p = new ConsumerProgress(gauge() as never, clock);
    expect(p.joined).toBe(false);
    p.assigned({ t: [0, 1] });
    expect(p.joined).toBe(true);
    p.left();
    expect(p.joined).toBe(false);
  });

  it('reports lag as high watermark minus processed offset, and 0 once caught up', () => {
    const g = gauge();
    const p = new ConsumerProgress(g as never, clock);
    p.assigned({ t: [0] });
    p.fetched('t', 0, 10n, 25n);
    expect(g.values.get('t/0')).toBe(15);
    p.committed('t', 0, 25n);
    expect(g.values.get('t/0')).toBe(0);
  });

  it('calls a partition with lag stalled once it has not moved for the limit, and not before', () => {
    const p = new ConsumerProgress(gauge() as never, clock);
    p.assigned({ t: [0, 1] });
    p.fetched('t', 0, 0n, 5n);
    p.observed('t', 1, 0n, -1n, 0n); // idle, caught up
    now += 59_999;
    expect(p.stalled(60_000)).toEqual([]);
    now += 1;
    expect(p.stalled(60_000)).toEqual(['partition t/0 has 5 message(s) of lag and has not moved for 60 s']);
    p.committed('t', 0, 3n);
    expect(p.stalled(60_000)).toEqual([]);
  });

  it('sees lag grow behind a stuck slice from the broker offsets, and a caught-up partition is never stalled', () => {
    const g = gauge();
    const p = new ConsumerProgress(g as never, clock);
    p.assigned({ t: [0] });
    for (let i = 0; i < 24; i++) {
      p.observed('t', 0, 0n, -1n, 0n); // the watch looks every 5 s: idle and caught up for 2 minutes
      now += 5_000;
    }
    expect(p.stalled(60_000)).toEqual([]);
    p.observed('t', 0, 4n, -1n, 0n); // messages arrive: not stalled yet, it was caught up a moment ago
    expect(g.values.get('t/0')).toBe(4);
    expect(p.stalled(60_000)).toEqual([]);
    now += 60_000;
    p.observed('t', 0, 9n, -1n, 0n);
    expect(g.values.get('t/0')).toBe(9);
    expect(p.stalled(60_000)).toHaveLength(1);
  });

  it('forgets partitions another member took, with their gauge samples', () => {
    const g = gauge();
    const p = new ConsumerProgress(g as never, clock);
    p.assigned({ t: [0, 1] });
    p.fetched('t', 0, 0n, 3n);
    p.fetched('t', 1, 0n, 3n);
    p.assigned({ t: [1] });
    expect([...g.values.keys()]).toEqual(['t/1']);
    expect([...p.owned()]).toEqual([['t', [1]]]);
  });
});
