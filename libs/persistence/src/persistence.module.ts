import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/config';
import { createDataSource } from './data-source';
import { Database } from './repositories/sql';
import { PgNotificationListener } from './notifications/pg-notification-listener';
import { OutboxStore } from './stores/outbox.store';
import { RecomputeRequestStore } from './stores/recompute-request.store';
import { RelaySlotStore } from './stores/relay-slot.store';

@Global()
@Module({
  providers: [
    {
      provide: DataSource,
      inject: [APP_CONFIG],
      useFactory: async (config: AppConfig): Promise<DataSource> => {
        const ds = createDataSource(config.database, { applicationName: `enrollment-sync:${process.title}` });
        return ds.initialize();
      },
    },
    { provide: Database, useExisting: DataSource },
    {
      provide: PgNotificationListener,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): PgNotificationListener => {
        const logger = new Logger(PgNotificationListener.name);
        return new PgNotificationListener(config.database, 'notifications', {
          info: (obj, msg) => logger.log({ ...obj, msg }),
          warn: (obj, msg) => logger.warn({ ...obj, msg }),
        });
      },
    },
    { provide: OutboxStore, inject: [DataSource], useFactory: (ds: DataSource) => new OutboxStore(ds) },
    { provide: RecomputeRequestStore, inject: [DataSource], useFactory: (ds: DataSource) => new RecomputeRequestStore(ds) },
    { provide: RelaySlotStore, inject: [DataSource], useFactory: (ds: DataSource) => new RelaySlotStore(ds) },
  ],
  exports: [DataSource, Database, PgNotificationListener, OutboxStore, RecomputeRequestStore, RelaySlotStore],
})
export class PersistenceModule implements OnApplicationShutdown {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(PgNotificationListener) private readonly listener: PgNotificationListener,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.listener.close();
    if (this.ds.isInitialized) await this.ds.destroy();
  }
}
