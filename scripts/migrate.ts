// npm run migrate [-- down | wait]: applies (or reverts the last of) the migrations on DATABASE_URL,
// or waits until none is pending (a pod's init container, while the migration Job runs).
import { loadConfig } from '@app/config';
import { createDataSource, migrateUp } from '@app/persistence';
import type { DataSource } from 'typeorm';

/**
 * TypeORM takes no lock of its own around migrations: two runners at once would both apply the
 * same pending migration. One session advisory lock per schema makes a second runner wait for
 * the first and then find nothing left to do.
 */
async function underMigrationLock<T>(ds: DataSource, schema: string, work: () => Promise<T>): Promise<T> {
  const runner = ds.createQueryRunner();
  await runner.connect();
  const key = `enrollment-sync:migrate:${schema}`;
  try {
    await runner.query('SELECT pg_advisory_lock(hashtext($1))', [key]);
    try {
      return await work();
    } finally {
      await runner.query('SELECT pg_advisory_unlock(hashtext($1))', [key]);
    }
  } finally {
    await runner.release();
  }
}

/** Names of the migrations this build knows that the database has not recorded as applied. */
async function pendingMigrations(ds: DataSource, schema: string): Promise<string[]> {
  const known = ds.migrations.map((m) => m.name ?? m.constructor.name);
  // Read-only on purpose (TypeORM's showMigrations creates the migrations table): the apps' role
  // may not be allowed to create anything. No table yet means everything is pending.
  const [{ exists }] = await ds.query('SELECT to_regclass($1) IS NOT NULL AS exists', [`"${schema}".schema_migrations`]);
  if (!exists) return known;
  const rows: { name: string }[] = await ds.query(`SELECT name FROM "${schema}".schema_migrations`);
  const applied = new Set(rows.map((r) => r.name));
  return known.filter((n) => !applied.has(n));
}

async function waitUntilMigrated(ds: DataSource, schema: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pending = await pendingMigrations(ds, schema);
    if (pending.length === 0) return;
    if (Date.now() > deadline) throw new Error(`migrations still pending after ${timeoutMs} ms: ${pending.join(', ')}`);
    console.log(`migrate: waiting for ${pending.join(', ')}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

async function main(): Promise<void> {
  const direction = process.argv[2] ?? 'up';
  const config = loadConfig();
  const ds = await createDataSource(config.database, { applicationName: 'enrollment-sync:migrate' }).initialize();
  try {
    if (direction === 'up') {
      const ran = await underMigrationLock(ds, config.database.schema, () => migrateUp(ds, config.database.schema));
      console.log(ran.length ? `migrate: applied ${ran.join(', ')}` : 'migrate: database is up to date');
    } else if (direction === 'down') {
      await underMigrationLock(ds, config.database.schema, () => ds.undoLastMigration({ transaction: 'each' }));
      console.log('migrate: reverted the last migration');
    } else if (direction === 'wait') {
      const i = process.argv.indexOf('--timeout-ms');
      await waitUntilMigrated(ds, config.database.schema, i > 0 ? Number(process.argv[i + 1]) : 600_000);
      console.log('migrate: database is up to date');
    } else {
      throw new Error(`unknown direction "${direction}" (use up, down or wait)`);
    }
  } finally {
    await ds.destroy();
  }
}

main().catch((err: Error) => {
  console.error(`migrate: ${err.message}`);
  process.exit(1);
});
