import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { DataSource } from 'typeorm';
import { createDataSource, migrateUp } from '@app/persistence';
import { slotGaps } from '@app/workload';
import { relayHasSlots, relayLockHolder, SlotSampler, slotTableExists } from '../../bench/drill/relay-ownership';
import { eventually } from '../support/eventually';
import { isolatedConfig } from '../support/isolation';

/**
 * The drill's slot sampler on a real Postgres, against the ownership contract of the relay's
 * slot table (owned iff `owner` is set and `lease_expires_at > now()`). The schema is migrated;
 * until the relay's migration creates `outbox_relay_slots`, the test creates it as the contract
 * describes it.
 */
describe('drill slot sampler', () => {
  const config = isolatedConfig();
  let ds: DataSource;

  const own = (slot: number, owner: string | null) =>
    ds.query(
      `UPDATE outbox_relay_slots SET owner = $2::text, lease_expires_at = CASE WHEN $2::text IS NULL THEN NULL ELSE now() + interval '1 hour' END WHERE slot = $1`,
      [slot, owner],
    );

  beforeAll(async () => {
    ds = await createDataSource({ ...config.database, poolSize: 3 }).initialize();
    await migrateUp(ds, config.database.schema);
  });

  afterAll(async () => {
    await ds.query(`DROP SCHEMA IF EXISTS "${config.database.schema}" CASCADE`);
    await ds.destroy();
  });

  it('reports the missing table as skipped while the relay has no slots, and fails it once the relay has them', async () => {
    if (await slotTableExists(ds)) {
      // The relay's migration has landed: the table is there, as the check demands of it.
      expect(relayHasSlots()).toBe(true);
      return;
    }
    const sampler = new SlotSampler(ds, 50);
    sampler.start();
    await sampler.stop();
    const check = sampler.check(3, 10_000, 100);
    expect(check.ok).toBe(!relayHasSlots());
    expect(check.summary).toBe(relayHasSlots() ? 'no slot table' : 'skipped: no slot table (single relay)');
  });

  it('measures a slot left unowned, passes while it is within the lease and fails once it is past it', async () => {
    await ds.query(
      `CREATE TABLE IF NOT EXISTS outbox_relay_slots (slot int PRIMARY KEY, owner text NULL, lease_expires_at timestamptz NULL, acquired_at timestamptz NULL)`,
    );
    await ds.query(`DELETE FROM outbox_relay_slots`);
    await ds.query(
      `INSERT INTO outbox_relay_slots (slot, owner, lease_expires_at, acquired_at) SELECT s, 'host-1-a', now() + interval '1 hour', now() FROM generate_series(0, 2) s`,
    );
    const sampler = new SlotSampler(ds, 50);
    sampler.start();
    try {
      await eventually(async () => (slotGaps(sampler.samples).allOwnedAt !== undefined ? true : undefined), 'a sample with every slot owned');

      // A hand-over: slot 1 released, then taken by another replica.
      await own(1, null);
      await eventually(async () => (slotGaps(sampler.samples).intervals.length > 0 ? true : undefined), 'slot 1 seen unowned');
      await own(1, 'host-2-b');
      const handedOver = await eventually(async () => {
        const closed = slotGaps(sampler.samples).intervals.filter((i) => !i.open);
        return closed.length > 0 ? closed : undefined;
      }, 'slot 1 seen owned again');
      expect(handedOver.map((i) => i.slot)).toEqual([1]);
      const withinLease = sampler.check(3, 60_000, 100);
      expect(withinLease).toMatchObject({ ok: true, problems: [] });
      expect(withinLease.summary).toMatch(/^3 slots, 3 replicas: longest unowned \d[\d,]* ms \(1 interval\(s\)\)/);

      // An owner whose lease ran out and nobody took the slot: unowned until the last sample.
      await ds.query(`UPDATE outbox_relay_slots SET lease_expires_at = now() - interval '1 second' WHERE slot = 2`);
      const lease = 200;
      await eventually(async () => {
        const gaps = slotGaps(sampler.samples);
        const open = gaps.intervals.find((i) => i.open && i.slot === 2);
        return open && open.to - open.from > lease + gaps.samplingPeriodMs + 100 ? open : undefined;
      }, 'slot 2 unowned for longer than the lease and the sampling period');
      const pastLease = sampler.check(3, lease, 100);
      expect(pastLease.ok).toBe(false);
      expect(pastLease.problems).toContainEqual(expect.stringMatching(/^slot 2 unowned [\d,]+ ms \(still at the last sample\), more than [\d,]+ ms$/));
    } finally {
      await sampler.stop();
    }
  });
});

describe('drill relay lock holder (the single relay, before slots)', () => {
  const config = isolatedConfig();
  let ds: DataSource;

  beforeAll(async () => {
    ds = await createDataSource({ ...config.database, poolSize: 2 }).initialize();
  });

  afterAll(async () => {
    await ds.destroy();
  });

  it('finds the process whose connection holds the relay lock of the schema, not for another schema', async () => {
    // A stand-in relay: a process of its own taking the relay's session lock, as the relay does.
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const { Client } = require('pg');
         const c = new Client({ connectionString: process.env.DB_URL });
         c.connect()
           .then(() => c.query('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked', [process.env.LOCK_KEY]))
           .then((r) => { console.log(r.rows[0].locked ? 'locked' : 'not locked'); setInterval(() => undefined, 1000); });`,
      ],
      { env: { ...process.env, DB_URL: config.database.url, LOCK_KEY: `enrollment-sync:outbox-relay:${config.database.schema}` }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const [first] = (await once(holder.stdout, 'data')) as [Buffer];
      expect(first.toString().trim()).toBe('locked');
      expect(await relayLockHolder(ds, config.database.schema, [process.pid, holder.pid!])).toBe(holder.pid);
      expect(await relayLockHolder(ds, `${config.database.schema}_other`, [process.pid, holder.pid!])).toBeUndefined();
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
