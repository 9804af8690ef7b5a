/**
 * A conflicting duplicate (the same source and id as an event already processed, with another
 * payload or time) stays a duplicate, but is not silent: it is logged (source, id and where it
 * was read; never the payload) and counted in enrollment_sync_conflicting_duplicates_total.
 * An exact re-send, or the same event re-encoded, is an ordinary duplicate.
 */
import { PinoLogger } from 'nestjs-pino';
import { clock, events, InputMessage } from '@app/workload';
import { Pipeline, RawInput, startPipeline } from '../support/pipeline';

const C = 8100;
const SOURCE = '/conflicting-duplicates';
const tick = clock('2026-11-20T09:00:00.000Z');

describe('conflicting duplicates (real Kafka and Postgres)', () => {
  let p: Pipeline;
  let warn: jest.SpyInstance;

  beforeAll(async () => {
    warn = jest.spyOn(PinoLogger.prototype, 'warn');
    p = await startPipeline({ recompute: 'inline' });
  }, 60_000);
  afterAll(async () => {
    warn?.mockRestore();
    await p?.stop();
  }, 60_000);

  const metric = async (name: string, labels: string): Promise<number> => {
    const text = (await p.workerGet('/metrics')).body;
    const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
    return line === undefined ? 0 : Number(line.split(' ')[1]);
  };
  const conflictLogs = () =>
    warn.mock.calls.filter(([, msg]) => typeof msg === 'string' && msg.startsWith('conflicting duplicate')).map(([fields]) => fields as Record<string, unknown>);

  it('logs and counts a re-sent id with another payload or time, applies neither, and keeps ordinary duplicates quiet', async () => {
    const topic = p.topicName('memberships');
    const first = { time: tick(1000), id: 'm-1', source: SOURCE };
    const joined = events.membershipChanged({ course_id: C, user_id: 1, join_status: 'joined' }, first);
    const valid: InputMessage[] = [events.courseUpserted({ id: C, name: 'Conflicts' }, { time: tick(1000), id: 'c-1', source: SOURCE }), joined];
    await p.produce(valid);
    await p.waitQuiet({ timeoutMs: 45_000 });
    const duplicatesBefore = await metric('enrollment_sync_input_messages_total', `outcome="duplicate",topic="${topic}"`);

    const reencoded = JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(joined.value)).reverse()));
    const otherPayload = events.membershipChanged({ course_id: C, user_id: 1, join_status: 'manager' }, first);
    const otherTime = events.membershipChanged({ course_id: C, user_id: 1, join_status: 'joined' }, { ...first, time: tick(1000) });
    // Two new events with one id in one produce: whichever is applied, the other conflicts.
    const twinA = events.membershipChanged({ course_id: C, user_id: 2, join_status: 'joined' }, { time: tick(1000), id: 'm-2', source: SOURCE });
    const twinB = events.membershipChanged({ course_id: C, user_id: 2, join_status: 'invited' }, { time: tick(1000), id: 'm-2', source: SOURCE });
    const resent: RawInput[] = [joined, { ...joined, key: 'another-key' }, { ...joined, value: reencoded }, otherPayload, otherTime, twinA, twinB];
    await p.produce(resent);
    await p.waitQuiet({ timeoutMs: 45_000 });

    expect(await metric('enrollment_sync_conflicting_duplicates_total', `topic="${topic}"`)).toBe(3);
    expect((await metric('enrollment_sync_input_messages_total', `outcome="duplicate",topic="${topic}"`)) - duplicatesBefore).toBe(6);
    const logs = conflictLogs();
    expect(logs.map((l) => `${String(l.source)} ${String(l.id)}`).sort()).toEqual([`${SOURCE} m-1`, `${SOURCE} m-1`, `${SOURCE} m-2`]);
    for (const l of logs) {
      expect(Object.keys(l).sort()).toEqual(['id', 'offset', 'partition', 'source', 'topic']);
      expect(l.topic).toBe(topic);
      expect(typeof l.partition).toBe('number');
      expect(l.offset).toMatch(/^\d+$/);
    }
    // The first content stays: the conflicting copies change nothing.
    const [m1] = await p.ds.query(`SELECT join_status, fact_time FROM membership_facts WHERE source = $1 AND id = 'm-1'`, [SOURCE]);
    expect(m1.join_status).toBe('joined');
    const winner = (await p.ds.query(`SELECT join_status FROM membership_facts WHERE source = $1 AND id = 'm-2'`, [SOURCE]))[0].join_status;
    expect(await p.oracle([...valid, winner === 'joined' ? twinA : twinB])).toEqual([]);
  }, 120_000);
});
