/**
 * The member list's `search` compares Unicode-normalised (NFC), case-folded text on both sides:
 * a name stored composed or decomposed is found by a search typed either way, in any case.
 */
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '@app/config';
import { decodeMessage, InputEvent } from '@app/contracts';
import { createDataSource, migrateUp, searchForm } from '@app/persistence';
import { createProjection } from '@app/projection';
import { clock, events, InputMessage } from '@app/workload';
import { ReadApiModule } from '../../apps/read-api/src/read-api.module';
import { isolatedConfig } from '../support/isolation';

const TOKEN = 'u'.repeat(32);
const COURSE = 301;
const NFD_ACUTE = '\u0301';

/** [user id, username, real_name]: the same names composed (NFC) and decomposed (NFD). */
const PEOPLE: [number, string, string][] = [
  [1, 'first', 'José Núñez'],
  [2, 'second', `Jose${NFD_ACUTE} Nu${NFD_ACUTE}n\u0303ez`],
  [3, `JOSE${NFD_ACUTE}_UP`, 'Third Person'],
  [4, 'ZOË', 'Fourth'],
  [5, 'fifth', 'zoe\u0308 lower'],
  [6, 'sixth', 'Jose Plain'],
];

describe('member search: Unicode normalisation and case', () => {
  const config = isolatedConfig({ API_TOKENS: TOKEN });
  let ds: DataSource;
  let app: INestApplication;
  let base: string;
  const tick = clock('2026-11-01T09:00:00.000Z');
  let seq = 0;
  const o = () => ({ time: tick(), id: `evt-${++seq}` });

  beforeAll(async () => {
    ds = await createDataSource(config.database).initialize();
    await migrateUp(ds, config.database.schema);
    const applier = createProjection(ds, config.courseUrlTemplate).applier;
    const msgs: InputMessage[] = [
      events.courseUpserted({ id: COURSE, name: 'Unicode' }, o()),
      ...PEOPLE.map(([id, username, real_name]) => events.userUpserted({ id, username, real_name, avatar: null, emails: [] }, o())),
      ...PEOPLE.map(([id]) => events.membershipChanged({ course_id: COURSE, user_id: id, join_status: 'joined' }, o())),
    ];
    const decoded: InputEvent[] = msgs.map((m) => {
      const r = decodeMessage({ topic: config.topics[m.topic], key: Buffer.from(m.key), value: Buffer.from(m.value) }, config.topics);
      if (!r.ok) throw new Error(r.reason);
      return r.event;
    });
    await applier.apply(decoded);
    const moduleRef = await Test.createTestingModule({ imports: [ReadApiModule] })
      .overrideProvider(APP_CONFIG)
      .useValue(config)
      .compile();
    app = moduleRef.createNestApplication();
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await app?.close();
    await ds?.query(`DROP SCHEMA IF EXISTS "${config.database.schema}" CASCADE`);
    await ds?.destroy();
  });

  const found = async (search: string): Promise<{ count: number; ids: number[] }> => {
    const res = await fetch(`${base}/api/v2/course/${COURSE}/users/?search=${encodeURIComponent(search)}&limit=1000`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const body = (await res.json()) as { count: number; results: { id: number }[] };
    if (res.status !== 200) throw new Error(`${search}: ${res.status} ${JSON.stringify(body)}`);
    return { count: body.count, ids: body.results.map((r) => r.id).sort((a, b) => a - b) };
  };

  it('finds the same members for a search typed composed (NFC) or decomposed (NFD), in either case', async () => {
    const jose = { count: 3, ids: [1, 2, 3] };
    for (const search of ['josé', `jose${NFD_ACUTE}`, 'JOSÉ', `JOSE${NFD_ACUTE}`]) {
      expect({ search, ...(await found(search)) }).toEqual({ search, ...jose });
    }
    for (const search of ['núñez', `nu${NFD_ACUTE}n\u0303ez`, 'NÚÑEZ']) {
      expect({ search, ...(await found(search)) }).toEqual({ search, count: 2, ids: [1, 2] });
    }
    for (const search of ['zoë', 'ZOE\u0308']) {
      expect({ search, ...(await found(search)) }).toEqual({ search, count: 2, ids: [4, 5] });
    }
    // Normalised, not stripped: an accent still tells names apart.
    expect(await found('jose ')).toEqual({ count: 1, ids: [6] });
  });

  it('returns the names as they were stored, unnormalised', async () => {
    const res = await fetch(`${base}/api/v2/course/${COURSE}/users/?search=${encodeURIComponent('josé')}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const body = (await res.json()) as { results: { id: number; username: string; real_name: string }[] };
    const byId = new Map(body.results.map((r) => [r.id, [r.username, r.real_name]]));
    expect(byId.get(2)).toEqual(['second', PEOPLE[1][2]]);
    expect(byId.get(3)).toEqual([PEOPLE[2][1], 'Third Person']);
  });

  it('the search can use the trigram indexes: they are on the expression it compares', async () => {
    const plan = await ds.transaction(async (tx) => {
      // Six rows: without this the planner rightly prefers a scan, which would prove nothing.
      await tx.query('SET LOCAL enable_seqscan = off');
      const rows: { 'QUERY PLAN': string }[] = await tx.query(
        `EXPLAIN SELECT user_id FROM user_facts u WHERE NOT u.deleted
           AND (${searchForm("u.profile->>'username'")} LIKE ${searchForm('$1::text')} OR ${searchForm("u.profile->>'real_name'")} LIKE ${searchForm('$1::text')})`,
        ['%josé%'],
      );
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    });
    expect(plan).toContain('user_facts_username_search_idx');
    expect(plan).toContain('user_facts_real_name_search_idx');
  });
});
