import { DataSource } from 'typeorm';
import { createDataSource, migrateUp, MIGRATIONS } from '@app/persistence';
import { isolatedConfig } from '../support/isolation';

describe('migrations on a real Postgres', () => {
  const config = isolatedConfig();
  let ds: DataSource;

  const tables = async (): Promise<string[]> =>
    (await ds.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, [config.database.schema])).map(
      (r: { table_name: string }) => r.table_name,
    );

  beforeAll(async () => {
    ds = await createDataSource(config.database).initialize();
  });

  afterAll(async () => {
    await ds.query(`DROP SCHEMA IF EXISTS "${config.database.schema}" CASCADE`);
    await ds.destroy();
  });

  it('apply to an empty schema, are idempotent, and revert to nothing', async () => {
    const applied = await migrateUp(ds, config.database.schema);
    expect(applied).toEqual(MIGRATIONS.map((m) => new m().name));
    expect(await tables()).toEqual(expect.arrayContaining(['course_facts', 'enrollments', 'membership_facts', 'outbox', 'processed_events']));

    expect(await migrateUp(ds, config.database.schema)).toEqual([]);

    for (let i = 0; i < MIGRATIONS.length; i++) await ds.undoLastMigration();
    expect(await tables()).toEqual(['schema_migrations']);
  });
});
