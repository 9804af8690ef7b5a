/**
 * Property, on the real Kafka and Postgres: whatever mix of valid and hostile messages arrives,
 * and wherever the hostile ones sit, every message ends applied or dead-lettered (each hostile
 * one exactly once), the projection equals the domain fold of the valid ones, and the consumer's
 * lag returns to 0. Hostile = refused at decode (not JSON, a contract violation, a header flood,
 * a time from the future), refused by the store (STORE_REFUSED), or refused by a trigger standing
 * for a store limit nobody knows of. The log goes out compressed with any of Kafka's codecs.
 */
import fc from 'fast-check';
import { CompressionTypes } from 'kafkajs';
import { clock, events, syntheticWorkload } from '@app/workload';
import { cloudEvent, HostileCase, lagProblems, lettersTagged, notInInbox, STORE_REFUSED } from '../support/hostile-inputs';
import { Pipeline, RawInput, startPipeline } from '../support/pipeline';

const HOSTILE: readonly HostileCase[] = [
  ...STORE_REFUSED,
  { name: 'not JSON', build: (tag) => ({ topic: 'memberships', key: '1:1', value: `not json ${tag} {` }) },
  {
    name: 'a contract violation',
    build: (tag, c, time) => ({
      topic: 'courses',
      key: String(c),
      value: cloudEvent('lms.lesson.upserted', { course_id: c, lesson: { id: 1, section_id: 1, name: 'L', status: 'live', position: 1 } }, { id: tag, time }),
    }),
  },
  {
    name: 'a header flood (5,000 headers)',
    build: (tag, c, time) => ({
      ...events.membershipChanged({ course_id: c, user_id: 2, join_status: 'joined' }, { id: tag, time, source: '/hostile' }),
      headers: Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`x-h${i}`, 'v'])),
    }),
  },
  {
    name: 'a time from the future',
    build: (tag, c) => events.membershipChanged({ course_id: c, user_id: 3, join_status: 'joined' }, { id: tag, time: '9999-12-31T23:59:59Z', source: '/hostile' }),
  },
  {
    name: 'a value the store refuses (trigger)',
    build: (tag, c, time) => ({
      topic: 'memberships',
      key: `${c}:1`,
      value: events.membershipChanged({ course_id: c, user_id: 1, join_status: 'joined', custom_fields: { marker: 'refuse-me' } }, { id: tag, time, source: '/hostile' })
        .value,
    }),
  },
];

describe('property: a mixed log of valid and hostile messages (real Kafka and Postgres)', () => {
  let p: Pipeline;
  const valid: RawInput[] = [];
  const tick = clock('2026-11-22T09:00:00.000Z');
  let run = 0;

  beforeAll(async () => {
    p = await startPipeline({ recompute: 'inline' });
    const schema = p.config.database.schema;
    await p.ds.query(`
      CREATE FUNCTION "${schema}".refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.custom_fields ->> 'marker' = 'refuse-me' THEN RAISE EXCEPTION 'store limit: refused %', NEW.id USING ERRCODE = '54000'; END IF;
        RETURN NEW;
      END $$`);
    await p.ds.query(`CREATE TRIGGER refuse_marked BEFORE INSERT ON "${schema}".membership_facts FOR EACH ROW EXECUTE FUNCTION "${schema}".refuse_marked()`);
  }, 60_000);
  afterAll(async () => p?.stop(), 60_000);

  it('every message ends applied or dead-lettered once; the projection is the fold of the valid ones; lag returns to 0', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 5, max: 60 }),
        fc.array(fc.record({ kind: fc.nat({ max: HOSTILE.length - 1 }), at: fc.nat(), nextToNeighbour: fc.boolean() }), { minLength: 1, maxLength: 6 }),
        fc.constantFrom(CompressionTypes.None, CompressionTypes.GZIP, CompressionTypes.Snappy, CompressionTypes.LZ4, CompressionTypes.ZSTD),
        async (seed, count, placements, compression) => {
          run++;
          // Given a realistic log and hostile messages placed among it, some on a neighbour's partition
          const log: RawInput[] = [...syntheticWorkload({ events: count, courses: 2, users: 6, seed, source: `/prop-${run}` })];
          const hostile = placements.map((h, i) => {
            const tag = `hx-${run}-${i}-`;
            const built = HOSTILE[h.kind].build(tag, 9000 + run, tick(1000));
            const neighbour = log[h.at % log.length];
            return { tag, name: HOSTILE[h.kind].name, message: h.nextToNeighbour ? { ...built, topic: neighbour.topic, key: neighbour.key } : built };
          });
          const mixed = [...log];
          placements.forEach((h, i) => mixed.splice(h.at % (mixed.length + 1), 0, hostile[i].message));
          const dlqBefore = p.deadLetters.length;

          // When it is produced
          await p.produce(mixed, { compression });
          valid.push(...log);
          await p.waitQuiet({ timeoutMs: 60_000 });

          // Then each hostile message is dead-lettered exactly once, and nothing else is
          const letters = p.deadLetters.slice(dlqBefore);
          for (const h of hostile) {
            const copies = lettersTagged(letters, h.tag);
            if (copies.length !== 1 || !copies[0].headers.dlq_reason) throw new Error(`${h.name}: ${copies.length} dead letter(s) tagged ${h.tag}`);
          }
          expect(letters).toHaveLength(hostile.length);
          // And every valid message is applied, the projection is their fold, and the lag is back to 0
          expect(await notInInbox(p, log)).toEqual([]);
          expect(await p.oracle(valid)).toEqual([]);
          expect(await lagProblems(p)).toEqual([]);
        },
      ),
      { numRuns: 12, seed: Number(process.env.FC_SEED ?? 20261130), endOnFailure: true },
    );
  }, 600_000);
});
