import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import Redis from 'ioredis';

const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? '/usr/bin/redis-server';

/** A port nothing listens on right now (the OS picks it; it is released before redis-server binds it). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address !== 'object') throw new Error('no port from the OS');
  return address.port;
}

export interface ThrowawayRedis {
  url: string;
  /** An admin connection (CONFIG SET, INFO, the filler's writes). */
  admin: Redis;
  stop(): Promise<void>;
}

/**
 * A private redis-server for a test that must push Redis to its limits (maxmemory, noeviction):
 * nothing on disk, its own port, stopped by the test. The machine's own Redis is never touched.
 */
export async function startThrowawayRedis(opts: { maxmemory: string }): Promise<ThrowawayRedis> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    REDIS_SERVER,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory', opts.maxmemory, '--maxmemory-policy', 'noeviction'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `redis://127.0.0.1:${port}/0`;
  const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 200 });
  admin.on('error', () => undefined);
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      if (admin.status === 'wait') await admin.connect();
      if ((await admin.ping()) === 'PONG') break;
    } catch (err) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        admin.disconnect();
        throw new Error(`redis-server on port ${port} did not start: ${(err as Error).message}\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    admin,
    async stop() {
      admin.disconnect();
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/**
 * Writes filler keys until Redis refuses a write with OOM (maxmemory reached, noeviction), then
 * pins `maxmemory` 1 MiB below what is in use: used memory moves (client buffers are freed), and
 * a Redis that is just at its limit would accept some writes again. Returns how many keys it wrote.
 */
export async function fillToOom(admin: Redis, prefix = 'filler'): Promise<number> {
  const value = 'x'.repeat(16 * 1024);
  for (let i = 0; ; i++) {
    try {
      await admin.set(`${prefix}:${i}`, value);
    } catch (err) {
      if (!/OOM/.test((err as Error).message)) throw err;
      const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
      await admin.config('SET', 'maxmemory', String(used - 1024 * 1024));
      return i;
    }
  }
}
