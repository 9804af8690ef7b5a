/**
 * Sync workers scaled out: built workers (dist/) as child processes share the consumer group
 * and the relay slots. Under load a third joins, one leaves (SIGTERM) and one is killed (-9);
 * consumer rebalances and relay slot hand-overs happen mid-stream. Afterwards the projection is
 * the fold of the input, the last published event per key is its row, versions are gapless
 * (re-sends are the same events), every input is accounted for, and each key's events are on
 * the one partition the producer's partitioner gives it.
 */
import type { ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { partitionForKey } from '@app/messaging';
import { syntheticWorkload } from '@app/workload';
import { eventually } from '../support/eventually';
import { Pipeline, startPipeline } from '../support/pipeline';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('sync workers scaled out (children sharing the group and the relay slots)', () => {
  let p: Pipeline;

  beforeAll(async () => {
    p = await startPipeline({ startWorker: false, overrides: { SLOT_TAKEOVER_MS: '4000' } });
  }, 60_000);
  afterAll(async () => p?.stop(), 60_000);

  /** Slots held per worker child (by the pid in the owner id), from the slot table. */
  const slotsBy = async (children: readonly ChildProcess[]): Promise<number[]> => {
    const rows: { owner: string | null }[] = await p.ds.query(
      `SELECT CASE WHEN owner IS NOT NULL AND lease_expires_at > now() THEN owner END AS owner FROM outbox_relay_slots`,
    );
    return children.map((c) => rows.filter((r) => r.owner?.startsWith(`${hostname()}-${c.pid}-`)).length);
  };

  it('joins, a graceful leave and a kill -9 under load lose and reorder nothing', async () => {
    const log = [...syntheticWorkload({ events: 3000, courses: 5, users: 50, seed: 23, source: '/e2e-scale-out' })];
    const total = log.length;
    const waitCommitted = async (atLeast: number, timeoutMs = 90_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const lag = await p.inputLag().catch(() => ({ committed: -1 })); // transient broker errors: ask again
        if (lag.committed >= atLeast) return lag.committed;
        if (Date.now() > deadline) throw new Error(`only ${lag.committed}/${atLeast} committed after ${timeoutMs} ms\n${p.workerLog.slice(-15).join('\n')}`);
        await sleep(50);
      }
    };

    // Given two workers, and the log being produced in slices
    const w1 = p.spawnReplica();
    const w2 = p.spawnReplica();
    const producing = (async () => {
      for (let i = 0; i < total; i += 100) {
        await p.produce(log.slice(i, i + 100));
        await sleep(150);
      }
    })();

    // When a third joins after a quarter: the relay slots end up two per worker
    await waitCommitted(Math.floor(total / 4));
    const w3 = p.spawnReplica();
    const split = await eventually(
      async () => {
        const held = await slotsBy([w1, w2, w3]);
        return held.join() === '2,2,2' ? held : undefined;
      },
      'the six relay slots to be split two per worker',
      90_000,
    );
    expect(split).toEqual([2, 2, 2]);

    // And one leaves gracefully after half, and another is killed -9 after three quarters
    await waitCommitted(Math.floor(total / 2));
    expect(await p.signalReplica(w1, 'SIGTERM')).toBe(0);
    await waitCommitted(Math.floor((3 * total) / 4));
    await p.signalReplica(w2, 'SIGKILL');
    await producing;

    // Then the last worker takes every slot over and the pipeline settles
    await eventually(async () => ((await slotsBy([w3]))[0] === 6 ? true : undefined), 'the last worker to hold all six slots', 60_000);
    await p.waitQuiet({ timeoutMs: 120_000 });
    console.log(
      `scale-out: ${total} events; ${[...p.outputs.values()].reduce((s, l) => s + l.length, 0)} output events over ` +
        `${p.outputs.size} keys, ${p.resentOutputs()} re-sent`,
    );

    expect(await p.oracle()).toEqual([]);
    expect(p.versionsGapless()).toEqual([]);
    expect(await p.accounting()).toEqual([]);
    const misplaced: string[] = [];
    for (const [key, list] of p.outputs) {
      const partitions = [...new Set(list.map((o) => o.partition))];
      const expected = partitionForKey(key, p.config.topics.partitions);
      if (partitions.length !== 1 || partitions[0] !== expected) misplaced.push(`${key}: on ${partitions.join(',')}, expected ${expected}`);
    }
    expect(misplaced).toEqual([]);
  }, 400_000);
});
