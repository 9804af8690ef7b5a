import { DataSource } from 'typeorm';
import type { TlsOptions } from 'node:tls';
import type { ClientConfig } from 'pg';
import { AppConfig, withoutTlsParams } from '@app/config';
import { MIGRATIONS } from './migrations';

/**
 * The service talks SQL directly (parameterised, set-based) rather than through entities: the
 * projection's hot path is batch upserts that an ORM's unit of work would only slow down.
 * TypeORM owns connections, transactions and migrations.
 */
/**
 * `application_name` of the service's connections: the schema first, then who. The read API
 * finds the write transactions open in its own schema by it (see WriteHorizonRepository).
 */
export const applicationNameOf = (schema: string, who: string): string => `${schema}/${who}`.slice(0, 63);

/**
 * Connection settings of every pg connection (the pool and the LISTEN clients): the URL without
 * its TLS parameters and the `ssl` resolved from them and DATABASE_SSL_CA_FILE at boot.
 */
export function pgConnection(db: Pick<AppConfig['database'], 'url' | 'ssl'>): Pick<ClientConfig, 'connectionString' | 'ssl'> {
  return { connectionString: withoutTlsParams(db.url), ssl: db.ssl === false ? false : { ...db.ssl } };
}

export interface DataSourceOptions {
  applicationName?: string;
  /**
   * How long a query waits for a connection (a free pool slot or a new connection) before it
   * fails with pg-pool's "timeout exceeded when trying to connect"; unset = waits as long as it takes.
   */
  connectTimeoutMs?: number;
}

export function createDataSource(db: AppConfig['database'], opts: DataSourceOptions = {}): DataSource {
  return new DataSource({
    type: 'postgres',
    url: pgConnection(db).connectionString,
    // TypeORM types `ssl` as server-side TlsOptions; pg hands it to tls.connect as client options.
    ssl: pgConnection(db).ssl as TlsOptions | false,
    schema: db.schema,
    synchronize: false,
    migrationsRun: false,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    migrationsTransactionMode: 'each',
    poolSize: db.poolSize,
    ...(opts.connectTimeoutMs !== undefined ? { connectTimeoutMS: opts.connectTimeoutMs } : {}),
    parseInt8: true,
    applicationName: applicationNameOf(db.schema, opts.applicationName ?? 'enrollment-sync'),
    // Every unqualified name resolves in the service's own schema, so tests can isolate
    // themselves in a throwaway schema of the shared database.
    extra: { options: `-c search_path=${db.schema}` },
  });
}

/** Creates the schema when missing: the migrations table lives inside it. */
export async function ensureSchema(ds: DataSource, schema: string): Promise<void> {
  // `schema` is validated as a plain lower-case identifier by the config lib.
  await ds.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
}

export async function migrateUp(ds: DataSource, schema: string): Promise<string[]> {
  await ensureSchema(ds, schema);
  const ran = await ds.runMigrations({ transaction: 'each' });
  return ran.map((m) => m.name);
}
