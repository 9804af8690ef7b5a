/**
 * Slot leases on the real Postgres: a replica takes free slots up to its share, and also any slot
 * nobody has owned for the rescue delay whatever its share says (a killed replica still counts as
 * live for the others until its heartbeat runs out, so without the rescue its slots could wait
 * longer than SLOT_TAKEOVER_MS). A slot still leased is never taken.
 */
import { DataSource } from 'typeorm';
import { createDataSource, migrateUp, RelaySlotRepository } from '@app/persistence';
import { isolatedConfig } from '../support/isolation';

describe('relay slot leases', () => {
  const config = isolatedConfig();
  const slots = new RelaySlotRepository();
  let ds: DataSource;

  beforeAll(async () => {
    ds = await createDataSource(config.database).initialize();
    await migrateUp(ds, config.database.schema);
  }, 60_000);

  afterAll(async () => {
    await ds?.query(`DROP SCHEMA IF EXISTS "${config.database.schema}" CASCADE`);
    await ds?.destroy();
  });

  const given = async (rows: [slot: number, owner: string | null, leaseEndsInMs: number][]) => {
    await ds.query(`DELETE FROM outbox_relay_slots`);
    for (const [slot, owner, ms] of rows) {
      await ds.query(`INSERT INTO outbox_relay_slots (slot, owner, lease_expires_at) VALUES ($1, $2, now() + $3::int * interval '1 millisecond')`, [slot, owner, ms]);
    }
  };

  it('takes a slot unowned past the rescue delay even at a full share, and leaves one just freed to its share-holder', async () => {
    await given([
      [0, 'alive-1-a', 60_000], // leased: never taken
      [1, 'dead-2-b', -20_000], // its owner died 20 s ago: an orphan
      [2, null, -1_000], // released a second ago: waits for a replica with room in its share
    ]);
    const taken = await slots.acquire(ds, 'me-3-c', 0, 10_000, 5_000);
    expect(taken.map((l) => l.slot)).toEqual([1]);
    const owners = await slots.owners(ds);
    expect(owners).toEqual([
      { slot: 0, owner: 'alive-1-a' },
      { slot: 1, owner: 'me-3-c' },
      { slot: 2, owner: null },
    ]);
  });

  it('takes free slots up to its share, lowest first, and never a leased one', async () => {
    await given([
      [0, 'alive-1-a', 60_000],
      [1, null, -1_000],
      [2, null, -1_000],
      [3, null, -1_000],
    ]);
    const taken = await slots.acquire(ds, 'me-3-c', 2, 10_000, 5_000);
    expect(taken.map((l) => l.slot).sort()).toEqual([1, 2]);
  });

  it('a released slot starts its wait at the release', async () => {
    await given([[0, 'me-3-c', 60_000]]);
    await slots.release(ds, 'me-3-c', [0]);
    expect(await slots.acquire(ds, 'other-4-d', 0, 10_000, 5_000)).toEqual([]);
    expect((await slots.acquire(ds, 'other-4-d', 0, 10_000, 0)).map((l) => l.slot)).toEqual([0]);
  });
});
