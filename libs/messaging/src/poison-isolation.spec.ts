import type { InputEvent } from '@app/contracts';
import { events } from '@app/workload';
import { ApplyOutcome, PoisonIsolatingSlice, SliceMessage } from './poison-isolation';

const topics = { courses: 'c', memberships: 'm', lessonProgress: 'p', users: 'u' };

const valid = (i: number): SliceMessage => {
  const m = events.membershipChanged({ course_id: 1, user_id: i + 1, join_status: 'joined' }, { time: '2026-01-01T00:00:00Z', id: `e-${i}` });
  return { topic: 'm', partition: 0, message: { key: Buffer.from(m.key), value: Buffer.from(m.value), headers: {}, offset: String(i) } };
};
const garbage = (i: number): SliceMessage => ({ topic: 'm', partition: 0, message: { key: null, value: Buffer.from('not json'), headers: {}, offset: String(i) } });

const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

/** An apply port that fails (all or nothing, like a transaction) while `fails` says so. */
function store(fails: (ids: string[], call: number) => Error | undefined) {
  const applied: string[] = [];
  const calls: string[][] = [];
  const apply = async (evts: InputEvent[]): Promise<{ outcomes: ApplyOutcome[] }> => {
    const ids = evts.map((e) => e.fact.meta.id);
    calls.push(ids);
    const err = fails(ids, calls.length);
    if (err) throw err;
    applied.push(...ids);
    return { outcomes: ids.map(() => 'applied') };
  };
  return { apply, applied, calls };
}

describe('PoisonIsolatingSlice', () => {
  it('applies a clean slice in one call', async () => {
    const s = store(() => undefined);
    const slice = new PoisonIsolatingSlice([0, 1, 2].map(valid), topics, s.apply);
    expect(await slice.run()).toEqual([{ outcome: 'applied' }, { outcome: 'applied' }, { outcome: 'applied' }]);
    expect(s.calls).toHaveLength(1);
    expect(slice.refused()).toEqual([]);
  });

  it('refuses what breaks the contract at decode and applies the rest', async () => {
    const s = store(() => undefined);
    const slice = new PoisonIsolatingSlice([valid(0), garbage(1), valid(2)], topics, s.apply);
    const results = await slice.run();
    expect(results[1]).toMatchObject({ outcome: 'refused', stage: 'decode' });
    expect(s.applied).toEqual(['e-0', 'e-2']);
  });

  it('bisects down to the one message the store refuses, refuses it at apply with the error, applies every other', async () => {
    const s = store((ids) => (ids.includes('e-13') ? pgError('54000', 'store limit') : undefined));
    const slice = new PoisonIsolatingSlice(
      Array.from({ length: 40 }, (_, i) => valid(i)),
      topics,
      s.apply,
    );
    const results = await slice.run();
    expect(results.filter((r) => r.outcome === 'refused')).toEqual([
      { outcome: 'refused', stage: 'apply', reason: 'refused when applied: store limit (SQLSTATE 54000)' },
    ]);
    expect(results[13].outcome).toBe('refused');
    expect(new Set(s.applied)).toEqual(new Set(Array.from({ length: 40 }, (_, i) => `e-${i}`).filter((id) => id !== 'e-13')));
    expect(s.calls.length).toBeLessThan(2 * Math.log2(40) + 4); // a bisection, not one transaction per message
  });

  it('isolates several poison messages in one slice', async () => {
    const bad = new Set(['e-0', 'e-7', 'e-8', 'e-31']);
    const s = store((ids) => (ids.some((id) => bad.has(id)) ? new RangeError('Maximum call stack size exceeded') : undefined));
    const slice = new PoisonIsolatingSlice(
      Array.from({ length: 32 }, (_, i) => valid(i)),
      topics,
      s.apply,
    );
    const results = await slice.run();
    expect(results.flatMap((r, i) => (r.outcome === 'refused' ? [i] : []))).toEqual([0, 7, 8, 31]);
    expect(s.applied).toHaveLength(28);
  });

  it('gives a lone message a second try before refusing it, so one hiccup dead-letters nothing', async () => {
    const s = store((_ids, call) => (call === 1 ? new Error('something odd, once') : undefined));
    const slice = new PoisonIsolatingSlice([valid(0)], topics, s.apply);
    expect(await slice.run()).toEqual([{ outcome: 'applied' }]);
    expect(s.calls).toHaveLength(2);
  });

  it('refuses a lone message that fails twice', async () => {
    const s = store(() => new Error('always'));
    const slice = new PoisonIsolatingSlice([valid(0)], topics, s.apply);
    expect(await slice.run()).toEqual([{ outcome: 'refused', stage: 'apply', reason: 'refused when applied: always' }]);
    expect(s.calls).toHaveLength(2);
  });

  it('stops bisecting on a transient failure, throws it, and resumes where it stopped without re-applying', async () => {
    let down = false;
    const s = store((ids) => {
      if (down) return pgError('57P03', 'the database system is starting up');
      if (ids.includes('e-5')) {
        if (ids.length === 8) down = true; // the dependency goes down in the middle of the bisection
        return pgError('22021', 'invalid byte sequence');
      }
      return undefined;
    });
    const slice = new PoisonIsolatingSlice(
      Array.from({ length: 16 }, (_, i) => valid(i)),
      topics,
      s.apply,
    );
    await expect(slice.run()).rejects.toMatchObject({ code: '57P03' });
    const callsWhenDown = s.calls.length;
    down = false;
    const results = await slice.run();
    expect(results.filter((r) => r.outcome === 'refused')).toHaveLength(1);
    expect(results[5].outcome).toBe('refused');
    expect(s.applied.filter((id) => id === 'e-12')).toHaveLength(1); // never applied twice
    expect(s.calls.length).toBeGreaterThan(callsWhenDown);
  });

  it('rethrows a lock conflict for the caller to retry', async () => {
    const s = store((_ids, call) => (call === 1 ? pgError('40P01', 'deadlock detected') : undefined));
    const slice = new PoisonIsolatingSlice([valid(0), valid(1)], topics, s.apply);
    await expect(slice.run()).rejects.toMatchObject({ code: '40P01' });
    expect(await slice.run()).toEqual([{ outcome: 'applied' }, { outcome: 'applied' }]);
  });

  it('refuses at decode a message whose decoding throws', async () => {
    const deep = 200_000;
    const value = `{"specversion":"1.0","id":"x","source":"/s","type":"lms.membership.changed","time":"2026-01-01T00:00:00Z","data":{"course_id":1,"user_id":1,"join_status":"joined","custom_fields":${'['.repeat(deep)}${']'.repeat(deep)}}}`;
    const s = store(() => undefined);
    const slice = new PoisonIsolatingSlice(
      [{ topic: 'm', partition: 0, message: { key: null, value: Buffer.from(value), headers: {}, offset: '0' } }, valid(1)],
      topics,
      s.apply,
    );
    const results = await slice.run();
    expect(results[0]).toMatchObject({ outcome: 'refused', stage: 'decode' });
    expect(results[1]).toEqual({ outcome: 'applied' });
  });

  it('calls beforeRetry between the transactions of a bisection (a consumer heartbeats there), and throws what it throws', async () => {
    const s = store((ids) => (ids.includes('e-3') ? pgError('22021', 'invalid byte sequence') : undefined));
    let beats = 0;
    const slice = new PoisonIsolatingSlice(
      Array.from({ length: 8 }, (_, i) => valid(i)),
      topics,
      s.apply,
      { beforeRetry: async () => void beats++ },
    );
    await slice.run();
    expect(beats).toBe(s.calls.length - 1);

    const lost = new PoisonIsolatingSlice(
      Array.from({ length: 8 }, (_, i) => valid(i)),
      topics,
      s.apply,
      {
        beforeRetry: () => Promise.reject(new Error('rebalancing')),
      },
    );
    await expect(lost.run()).rejects.toThrow('rebalancing');
  });
});
