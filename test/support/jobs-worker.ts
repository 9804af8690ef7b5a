import { Test, TestingModule, TestingModuleBuilder } from '@nestjs/testing';
import { APP_CONFIG, AppConfig } from '@app/config';
import { createDataSource, migrateUp } from '@app/persistence';
import { JobsWorkerModule } from '../../apps/jobs-worker/src/jobs-worker.module';

/**
 * Migrates the run's schema and compiles the jobs worker with the run's config. Not initialised
 * yet, so a test can reach into providers (spies) before `init()` starts the processors.
 */
export async function compileJobsWorker(config: AppConfig, configure: (builder: TestingModuleBuilder) => TestingModuleBuilder = (b) => b): Promise<TestingModule> {
  const migrator = await createDataSource(config.database).initialize();
  await migrateUp(migrator, config.database.schema);
  await migrator.destroy();
  return configure(
    Test.createTestingModule({ imports: [JobsWorkerModule] })
      .overrideProvider(APP_CONFIG)
      .useValue(config),
  ).compile();
}
