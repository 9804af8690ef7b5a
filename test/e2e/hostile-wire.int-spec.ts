/**
 * What ordinary and buggy producers put on the wire never stops the sync worker, on the real
 * Kafka and Postgres: batches compressed with every codec Kafka has (from kafkajs and from the
 * Java client), a batch that cannot be decompressed, messages with 20,000 headers, and events
 * from a clock far in the future. Each ends applied or dead-lettered once, with its neighbours
 * applied and the lag back at 0.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompressionTypes } from 'kafkajs';
import { zstdCodec } from '@app/messaging';
import { clock, events } from '@app/workload';
import { lagProblems, notInInbox } from '../support/hostile-inputs';
import { Pipeline, RawInput, startPipeline } from '../support/pipeline';

const tick = clock('2026-11-20T09:00:00.000Z');
let n = 0;
const o = (prefix = 'ok') => ({ time: tick(1000), id: `${prefix}-${++n}`, source: '/hostile-wire' });

/** `count` valid memberships of one course, on one key (so one partition, one batch). */
const members = (courseId: number, firstUser: number, count: number, key = `wire-${courseId}`): RawInput[] =>
  Array.from({ length: count }, (_, i) => ({
    ...events.membershipChanged({ course_id: courseId, user_id: firstUser + i, join_status: 'joined' }, o()),
    key,
  }));

/** The jars of the broker `infra:up` resolved: the Java client and its codecs come with it. */
function kafkaLibs(): string {
  const base = join(__dirname, '..', '..', '.cache', 'kafka');
  const versions = existsSync(base) ? readdirSync(base).filter((v) => existsSync(join(base, v, 'libs', `kafka-clients-${v}.jar`))) : [];
  if (versions.length === 0) throw new Error(`no Kafka jars under ${base}: run "npm run infra:up"`);
  return join(base, versions.sort().at(-1)!, 'libs');
}

/** Produces with the Java client (single-file source program, the broker's jars). */
function javaProduce(p: Pipeline, messages: RawInput[], compression: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'java-produce-'));
  try {
    const file = join(dir, 'records.tsv');
    writeFileSync(file, messages.map((m) => `${m.key}\t${m.value as string}`).join('\n'));
    const source = join(__dirname, '..', 'support', 'java', 'CompressedProducer.java');
    execFileSync('java', ['-cp', join(kafkaLibs(), '*'), source, p.config.kafka.brokers[0], p.topicName('memberships'), compression, file], {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 120_000,
    });
    p.produced.push(...messages);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const flood = (prefix: string, count: number): Record<string, string> => Object.fromEntries(Array.from({ length: count }, (_, i) => [`${prefix}${i}`, 'v']));

describe('no message on the wire stops the sync worker (real Kafka and Postgres)', () => {
  let p: Pipeline;
  const valid: RawInput[] = [];

  beforeAll(async () => {
    p = await startPipeline({ recompute: 'inline' });
  }, 60_000);
  afterAll(async () => p?.stop(), 60_000);

  it.each([
    ['gzip', CompressionTypes.GZIP, 8100],
    ['snappy', CompressionTypes.Snappy, 8101],
    ['lz4', CompressionTypes.LZ4, 8102],
    ['zstd', CompressionTypes.ZSTD, 8103],
  ] as const)(
    'a %s batch from kafkajs is applied, and so is what follows it',
    async (_name, compression, courseId) => {
      const batch = members(courseId, 1, 20);
      const after = members(courseId, 100, 3);
      await p.produce(batch, { compression });
      await p.produce(after);
      valid.push(...batch, ...after);
      await p.waitQuiet({ timeoutMs: 45_000 });

      expect(await notInInbox(p, [...batch, ...after])).toEqual([]);
      expect(p.deadLetters).toHaveLength(0);
      expect(await p.oracle(valid)).toEqual([]);
      expect(await lagProblems(p)).toEqual([]);
    },
    60_000,
  );

  it.each([
    ['snappy', 8110],
    ['lz4', 8111],
    ['zstd', 8112],
    ['gzip', 8113],
  ] as const)(
    'a %s batch from the Java client is applied',
    async (compression, courseId) => {
      const batch = members(courseId, 1, 50);
      javaProduce(p, batch, compression);
      valid.push(...batch);
      await p.waitQuiet({ timeoutMs: 45_000 });

      expect(await notInInbox(p, batch)).toEqual([]);
      expect(p.deadLetters).toHaveLength(0);
      expect(await p.oracle(valid)).toEqual([]);
    },
    150_000,
  );

  it('a batch that cannot be decompressed is one dead letter naming its offsets, and the partition goes on', async () => {
    const courseId = 8120;
    const before = members(courseId, 1, 3);
    const bad = members(courseId, 10, 5);
    const after = members(courseId, 20, 3);
    await p.produce(before);
    await p.waitQuiet({ timeoutMs: 45_000 });
    const lettersBefore = p.deadLetters.length;
    // A codec this process cannot run: what a codec Kafka adds, or a corrupt payload, looks like.
    const decompress = zstdCodec.decompress;
    zstdCodec.decompress = () => Promise.reject(new Error('simulated: zstd frame cannot be decoded'));
    try {
      await p.produce(bad, { compression: CompressionTypes.ZSTD });
      await p.produce(after);
      valid.push(...before, ...after);
      await p.waitQuiet({ timeoutMs: 45_000 });
    } finally {
      zstdCodec.decompress = decompress;
    }

    const letters = p.deadLetters.slice(lettersBefore);
    expect(letters).toHaveLength(1);
    const [letter] = letters;
    expect(letter.headers.dlq_topic).toBe(p.topicName('memberships'));
    expect(letter.headers.dlq_reason).toMatch(/record batch at offsets (\d+)-(\d+) \(5 records, zstd\) could not be decoded: simulated/);
    const [, first, last] = /offsets (\d+)-(\d+)/.exec(letter.headers.dlq_reason)!;
    expect(BigInt(last) - BigInt(first)).toBe(4n);
    expect(letter.headers.dlq_offset).toBe(first);
    expect(letter.headers['enrollment-sync-wire-defect']).toBeUndefined();
    // The value is the record batch as it was read: magic byte 2, the zstd codec id in its attributes.
    expect(letter.value!.readInt8(16)).toBe(2);
    expect(letter.value!.readInt16BE(21) & 0x07).toBe(CompressionTypes.ZSTD);
    expect(await notInInbox(p, [...before, ...after])).toEqual([]);
    expect(await notInInbox(p, bad)).toHaveLength(bad.length);
    expect(await p.oracle(valid)).toEqual([]);
    expect(await lagProblems(p)).toEqual([]);
  }, 90_000);

  it.each([
    ['x-h', 8130],
    ['ce_x', 8131],
  ] as const)(
    'a message with 20,000 %s<i> headers is dead-lettered once within its slice, health answering throughout',
    async (prefix, courseId) => {
      const [flooded] = members(courseId, 1, 1);
      flooded.headers = flood(prefix, 20_000);
      const before = members(courseId, 10, 3);
      const after = members(courseId, 20, 3);
      const lettersBefore = p.deadLetters.length;
      let polling = true;
      const health: number[] = [];
      const poll = (async () => {
        while (polling) {
          const res = await Promise.race([p.workerGet('/health/live').then((r) => r.status), new Promise<number>((r) => setTimeout(() => r(-1), 5000))]);
          health.push(res);
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      try {
        await p.produce([...before, flooded, ...after]);
        valid.push(...before, ...after);
        await p.waitQuiet({ timeoutMs: 45_000 });
      } finally {
        polling = false;
        await poll;
      }

      const letters = p.deadLetters.slice(lettersBefore);
      expect(letters).toHaveLength(1);
      const [letter] = letters;
      expect(letter.value!.toString()).toBe(flooded.value);
      expect(letter.key!.toString()).toBe(flooded.key);
      expect(letter.headers.dlq_reason).toMatch(/20000 headers .* over the limits of 64 headers and 65536 bytes/);
      const kept = Object.keys(letter.headers).filter((h) => h.startsWith(prefix));
      expect(kept.length).toBeGreaterThan(0);
      expect(Object.keys(letter.headers).length).toBeLessThanOrEqual(64);
      expect(Number(letter.headers.dlq_headers_dropped)).toBe(20_000 - kept.length);
      expect(letter.headers['enrollment-sync-wire-defect']).toBeUndefined();
      expect(health.length).toBeGreaterThan(0);
      expect(health.filter((s) => s !== 200)).toEqual([]);
      expect(await notInInbox(p, [...before, ...after])).toEqual([]);
      expect(await p.oracle(valid)).toEqual([]);
      expect(await lagProblems(p)).toEqual([]);
    },
    90_000,
  );

  it('a header upstream forged with the decoder mark changes nothing: the message is applied', async () => {
    const [forged] = members(8140, 1, 1);
    forged.headers = { 'enrollment-sync-wire-defect': '{"kind":"header-flood","headers":1,"bytes":1,"kept":0}' };
    await p.produce([forged]);
    valid.push(forged);
    await p.waitQuiet({ timeoutMs: 45_000 });
    expect(await notInInbox(p, [forged])).toEqual([]);
    expect(await p.oracle(valid)).toEqual([]);
  }, 60_000);

  it('an event from far in the future is dead-lettered naming the skew, and honest events after it win', async () => {
    const courseId = 8150;
    const key = `wire-${courseId}`;
    const future: RawInput = {
      ...events.membershipChanged({ course_id: courseId, user_id: 1, join_status: 'joined' }, { time: '9999-12-31T23:59:59Z', id: 'future-1', source: '/hostile-wire' }),
      key,
    };
    const honest: RawInput[] = [
      { ...events.membershipChanged({ course_id: courseId, user_id: 1, join_status: null }, o()), key },
      { ...events.membershipChanged({ course_id: courseId, user_id: 1, join_status: 'manager' }, o()), key },
    ];
    const lettersBefore = p.deadLetters.length;
    await p.produce([future, ...honest]);
    valid.push(...honest);
    await p.waitQuiet({ timeoutMs: 45_000 });

    const letters = p.deadLetters.slice(lettersBefore);
    expect(letters).toHaveLength(1);
    expect(letters[0].value!.toString()).toBe(future.value);
    expect(letters[0].headers.dlq_reason).toMatch(/time 9999-12-31T23:59:59Z is \d+ s ahead of this service's clock, more than MAX_FUTURE_SKEW_MS \(300000 ms\)/);
    expect(await notInInbox(p, [future])).toHaveLength(1);
    const state = await p.ds.query(`SELECT join_status FROM "${p.config.database.schema}".enrollments WHERE course_id = $1 AND user_id = 1`, [courseId]);
    expect(state).toEqual([{ join_status: 'manager' }]);
    expect(await p.oracle(valid)).toEqual([]);
  }, 60_000);

  it('an event a little ahead of the clock (within MAX_FUTURE_SKEW_MS) is applied', async () => {
    const soon = new Date(Date.now() + 60_000).toISOString();
    const m: RawInput = {
      ...events.membershipChanged({ course_id: 8160, user_id: 1, join_status: 'joined' }, { time: soon, id: 'soon-1', source: '/hostile-wire' }),
      key: 'wire-8160',
    };
    const lettersBefore = p.deadLetters.length;
    await p.produce([m]);
    valid.push(m);
    await p.waitQuiet({ timeoutMs: 45_000 });
    expect(p.deadLetters.slice(lettersBefore)).toHaveLength(0);
    expect(await notInInbox(p, [m])).toEqual([]);
    expect(await p.oracle(valid)).toEqual([]);
  }, 60_000);
});
