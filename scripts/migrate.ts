// npm run migrate [-- down]: applies (or reverts the last of) the migrations on DATABASE_URL.
import { loadConfig } from '@app/config';
import { createDataSource, migrateUp } from '@app/persistence';

async function main(): Promise<void> {
  const direction = process.argv[2] ?? 'up';
  const config = loadConfig();
  const ds = await createDataSource(config.database, { applicationName: 'enrollment-sync:migrate' }).initialize();
  try {
    if (direction === 'up') {
      const ran = await migrateUp(ds, config.database.schema);
      console.log(ran.length ? `migrate: applied ${ran.join(', ')}` : 'migrate: database is up to date');
    } else if (direction === 'down') {
      await ds.undoLastMigration({ transaction: 'each' });
      console.log('migrate: reverted the last migration');
    } else {
      throw new Error(`unknown direction "${direction}" (use up or down)`);
    }
  } finally {
    await ds.destroy();
  }
}

main().catch((err: Error) => {
  console.error(`migrate: ${err.message}`);
  process.exit(1);
});
