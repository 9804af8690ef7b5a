import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/config';
import { createDataSource } from '../data-source';
import { CourseMemberStatsRepository } from '../repositories/course-member-stats.repository';
import { FactRepository } from '../repositories/fact.repository';
import { CourseMemberListRepository } from './course-member-list.repository';
import { CourseViewRepository } from './course-view.repository';
import { DatabaseHealthRepository } from './database-health.repository';
import { EnrollmentListRepository } from './enrollment-list.repository';
import { ReadDatabases } from './read-databases';
import { WriteHorizonRepository } from './write-horizon.repository';

const READ_REPOSITORIES = [EnrollmentListRepository, CourseViewRepository, CourseMemberListRepository, WriteHorizonRepository, DatabaseHealthRepository];

/**
 * The read API's databases and read repositories. Its DataSources are the workers'
 * (PersistenceModule), except that a request waits at most API_DATABASE_CONNECT_TIMEOUT_MS for a
 * connection: an exhausted pool or an unreachable database then fails fast (a 503 with
 * Retry-After in the API) instead of a request that hangs until the client gives up. With
 * DATABASE_READ_URL the reader is a second pool, on that server.
 */
@Global()
@Module({
  providers: [
    {
      provide: ReadDatabases,
      inject: [APP_CONFIG],
      useFactory: async (config: AppConfig): Promise<ReadDatabases> => {
        const opts = { applicationName: `enrollment-sync:${process.title}`, connectTimeoutMs: config.api.databaseConnectTimeoutMs };
        const primary = await createDataSource(config.database, opts).initialize();
        const read = config.database.read;
        if (!read) return new ReadDatabases(primary, primary);
        try {
          const reader = await createDataSource(
            { ...config.database, url: read.url, ssl: read.ssl },
            { ...opts, applicationName: `${opts.applicationName}:read` },
          ).initialize();
          return new ReadDatabases(primary, reader);
        } catch (err) {
          await primary.destroy();
          throw err;
        }
      },
    },
    // The primary, for what needs the DataSource itself (tests holding its connections).
    { provide: DataSource, inject: [ReadDatabases], useFactory: (dbs: ReadDatabases) => dbs.primary },
    FactRepository,
    CourseMemberStatsRepository,
    ...READ_REPOSITORIES,
  ],
  exports: [DataSource, ...READ_REPOSITORIES],
})
export class ReadPersistenceModule implements OnApplicationShutdown {
  constructor(@Inject(ReadDatabases) private readonly dbs: ReadDatabases) {}

  async onApplicationShutdown(): Promise<void> {
    for (const ds of new Set([this.dbs.reader, this.dbs.primary])) if (ds.isInitialized) await ds.destroy();
  }
}
