/**
 * Postgres and Redis over TLS, on private servers of this suite: a PostgreSQL cluster (initdb of
 * the installed server, `ssl=on`, plaintext refused by pg_hba) and a `redis-server --tls-port`,
 * both presenting the local CA's 127.0.0.1 certificate (the one the secure Kafka listener uses).
 * The service's own connection code is used: createDataSource and pgConnection (the relay's and
 * the dispatcher's LISTEN clients), BullMQ queue options and the read API's Redis probe.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Client } from 'pg';
import { AppConfig, loadConfig } from '@app/config';
import Redis from 'ioredis';
import { queueOptions, redisTlsOptions } from '@app/jobs';
import { createDataSource, migrateUp, pgConnection } from '@app/persistence';
import { DependencyChecks } from '../../apps/read-api/src/health/dependency-checks';
import { localTls } from '../support/secure-kafka';

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });

/** The PostgreSQL server binaries: on PATH, else the newest /usr/lib/postgresql/<v>/bin. */
function pgBin(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && existsSync(join(dir, name))) return join(dir, name);
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(join(base, v, 'bin', name))) return join(base, v, 'bin', name);
  throw new Error(`${name} not found (PATH or ${base}/<version>/bin): this suite runs a private PostgreSQL cluster`);
}

const asRoot = process.getuid?.() === 0;
/** initdb and postgres refuse to run as root: run them as the postgres user then. */
const pgRun = (bin: string, args: string[]) =>
  execFileSync(asRoot ? 'runuser' : bin, asRoot ? ['-u', 'postgres', '--', bin, ...args] : args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('Postgres and Redis over TLS', () => {
  const tls = localTls();
  const dir = mkdtempSync(join(tmpdir(), 'es-tls-'));
  const data = join(dir, 'pg');
  let pgPort = 0;
  let redisPort = 0;
  let redis: ChildProcess | undefined;

  beforeAll(async () => {
    pgPort = await freePort();
    if (asRoot) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      chownSync(dir, uid, gid);
      pgRun(pgBin('initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
      for (const [from, to] of [
        [tls.cert, 'server.crt'],
        [tls.key, 'server.key'],
      ]) {
        copyFileSync(from, join(data, to));
        chownSync(join(data, to), uid, gid);
        chmodSync(join(data, to), 0o600);
      }
    } else {
      pgRun(pgBin('initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
      copyFileSync(tls.cert, join(data, 'server.crt'));
      copyFileSync(tls.key, join(data, 'server.key'));
      chmodSync(join(data, 'server.key'), 0o600);
    }
    // TLS only: a plaintext connection is refused, so a connection that works went over TLS.
    writeFileSync(join(data, 'pg_hba.conf'), 'local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n');
    pgRun(pgBin('pg_ctl'), [
      '-D',
      data,
      '-l',
      join(dir, 'pg.log'),
      '-w',
      '-t',
      '120',
      'start',
      '-o',
      `-p ${pgPort} -k ${dir} -c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key -c fsync=off -c max_connections=20 -c shared_buffers=16MB`,
    ]);

    redisPort = await freePort();
    redis = spawn(
      'redis-server',
      [
        '--port',
        '0',
        '--tls-port',
        String(redisPort),
        '--bind',
        '127.0.0.1',
        '--tls-cert-file',
        tls.cert,
        '--tls-key-file',
        tls.key,
        '--tls-ca-cert-file',
        tls.ca,
        '--tls-auth-clients',
        'no',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
      ],
      { stdio: 'ignore' },
    );
    // Ready once the TLS port accepts connections.
    for (let i = 0; i < 100; i++) {
      const up = await new Promise<boolean>((resolve) => {
        const s = connect({ host: '127.0.0.1', port: redisPort });
        s.once('connect', () => (s.destroy(), resolve(true)));
        s.once('error', () => resolve(false));
      });
      if (up) break;
      if (redis.exitCode !== null) throw new Error(`redis-server exited (${redis.exitCode}): is it built with TLS?`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 180_000);

  afterAll(async () => {
    redis?.kill('SIGTERM');
    try {
      pgRun(pgBin('pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']);
    } catch {
      /* never started */
    }
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const pgConfig = (query: string, extra: Record<string, string> = {}): AppConfig =>
    loadConfig({ DATABASE_URL: `postgres://postgres@127.0.0.1:${pgPort}/postgres${query}`, DATABASE_SCHEMA: 'tls_check', DATABASE_POOL_SIZE: '2', ...extra });

  const sslOfSession = async (config: AppConfig): Promise<boolean> => {
    const client = new Client({ ...pgConnection(config.database), connectionTimeoutMillis: 10_000 });
    await client.connect();
    try {
      return (await client.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows[0].ssl;
    } finally {
      await client.end();
    }
  };

  describe('Postgres', () => {
    it('migrates and queries through the DataSource, and LISTEN clients connect, with sslmode=verify-full and DATABASE_SSL_CA_FILE', async () => {
      const config = pgConfig('?sslmode=verify-full', { DATABASE_SSL_CA_FILE: tls.ca });
      const ds = await createDataSource(config.database).initialize();
      try {
        expect((await migrateUp(ds, 'tls_check')).length).toBeGreaterThan(0);
        expect((await ds.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'))[0].ssl).toBe(true);
      } finally {
        await ds.destroy();
      }
      expect(await sslOfSession(config)).toBe(true);
    });

    it('sslmode=require encrypts without verifying the certificate (libpq)', async () => {
      expect(await sslOfSession(pgConfig('?sslmode=require'))).toBe(true);
    });

    it('verify-full without the CA refuses the server certificate', async () => {
      await expect(sslOfSession(pgConfig('?sslmode=verify-full'))).rejects.toThrow(/self-signed|unable to (verify|get)/);
    });

    it('the server takes no plaintext, so the connections above were TLS', async () => {
      await expect(sslOfSession(pgConfig('?sslmode=disable'))).rejects.toThrow(/no encryption/);
    });
  });

  describe('Redis', () => {
    const redisConfig = (extra: Record<string, string> = {}) => loadConfig({ REDIS_URL: `rediss://127.0.0.1:${redisPort}/0`, QUEUE_PREFIX: 'es-tls', ...extra });

    it('BullMQ and the read API probe work over rediss:// with REDIS_TLS_CA_FILE', async () => {
      const config = redisConfig({ REDIS_TLS_CA_FILE: tls.ca });
      const queue = new Queue('tls-check', queueOptions(config));
      try {
        const job = await queue.add('ping', { n: 1 });
        expect((await queue.getJob(job.id!))?.data).toEqual({ n: 1 });
      } finally {
        await queue.close();
      }
      const checks = new DependencyChecks(config, undefined as never, undefined as never);
      try {
        expect(await checks.redisPing()).toEqual({ ok: true });
      } finally {
        await checks.onModuleDestroy();
      }
    });

    it('without the CA the server certificate is refused', async () => {
      const config = redisConfig();
      const errors: Error[] = [];
      const client = new Redis(config.redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, ...redisTlsOptions(config.redis) });
      client.on('error', (err) => errors.push(err));
      await expect(client.connect()).rejects.toThrow();
      client.disconnect();
      expect(errors.map((e) => e.message).join('\n')).toMatch(/self-signed|unable to (verify|get)/);
    });
  });
});
