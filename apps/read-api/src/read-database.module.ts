import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/config';
import { createDataSource } from '@app/persistence';

/**
 * The read API's DataSource: the workers' (PersistenceModule), except that a request waits at
 * most API_DATABASE_CONNECT_TIMEOUT_MS for a connection. An exhausted pool or an unreachable
 * database then fails fast and becomes a 503 with Retry-After (JsonErrorFilter) instead of a
 * request that hangs until the client gives up.
 */
@Global()
@Module({
  providers: [
    {
      provide: DataSource,
      inject: [APP_CONFIG],
      useFactory: async (config: AppConfig): Promise<DataSource> =>
        createDataSource(config.database, {
          applicationName: `enrollment-sync:${process.title}`,
          connectTimeoutMs: config.api.databaseConnectTimeoutMs,
        }).initialize(),
    },
  ],
  exports: [DataSource],
})
export class ReadDatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(DataSource) private readonly ds: DataSource) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.ds.isInitialized) await this.ds.destroy();
  }
}
