/** The machine's Redis: answers PING, or is started with redis-server when local and down. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Redis from 'ioredis';
import { DOCKER_HINT, fail, green, InfraError, INFRA_DIR, say, sleep } from './output';
import { which } from './processes';
import { isLocalHost, redisUrl, safeUrl } from './settings';

interface Ping {
  ok: boolean;
  version: string | null;
  err?: unknown;
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

async function redisPing(url: string): Promise<Ping> {
  const caFile = process.env.REDIS_TLS_CA_FILE;
  const client = new Redis(url, {
    ...(url.startsWith('rediss:') && caFile ? { tls: { ca: fs.readFileSync(caFile) } } : {}),
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const pong = await client.ping();
    let version: string | null = null;
    try {
      version = /redis_version:(\S+)/.exec(await client.info('server'))?.[1] ?? null;
    } catch {
      /* ACL may forbid INFO */
    }
    return { ok: pong === 'PONG', version };
  } catch (err) {
    return { ok: false, version: null, err };
  } finally {
    client.disconnect();
  }
}

const pingFailure = (r: Ping): string => (r.err !== undefined ? errorText(r.err) : 'no PONG');

function writableDir(dir: string): boolean {
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export async function redisUp(): Promise<void> {
  const url = redisUrl();
  const u = new URL(url);
  let r = await redisPing(url);
  if (r.ok) {
    say('redis', `up at ${safeUrl(url)}${r.version ? ` (redis ${r.version})` : ''}`);
    return;
  }
  if (!isLocalHost(u.hostname) || !which('redis-server')) {
    throw new InfraError(`${safeUrl(url)} does not answer PING (${pingFailure(r)}). Start Redis, fix REDIS_URL, or use Docker: ${DOCKER_HINT}`);
  }
  const port = u.port || '6379';
  // the machine's usual places; this repo's .infra/redis when those aren't writable (not root)
  const dir = writableDir('/var/lib/redis') ? '/var/lib/redis' : path.join(INFRA_DIR, 'redis');
  const logfile = writableDir('/var/log/redis') ? '/var/log/redis/ci.log' : path.join(INFRA_DIR, 'redis', 'redis.log');
  fs.mkdirSync(dir, { recursive: true });
  const major = Number(/v=(\d+)/.exec(spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout || '')?.[1] ?? 0);
  const bind = major >= 7 ? ['127.0.0.1', '-::1'] : ['127.0.0.1'];
  const args = ['--daemonize', 'yes', '--bind', ...bind, '--port', port, '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', logfile];
  // bench/drill/faults.ts looks for "redis: not answering" to tell that this run started Redis.
  say('redis', `not answering: redis-server ${args.map((a) => (a === '' ? '""' : a)).join(' ')}`);
  const res = spawnSync('redis-server', args, { encoding: 'utf8' });
  if (res.status !== 0) throw new InfraError(`redis-server failed to start: ${(res.stderr || res.stdout).trim()}`);
  for (let i = 0; i < 40 && !r.ok; i++) {
    await sleep(250);
    r = await redisPing(url);
  }
  if (!r.ok) throw new InfraError(`redis-server started but ${safeUrl(url)} does not answer PING; see ${logfile}`);
  say('redis', `started at ${safeUrl(url)} (redis ${r.version ?? '?'}, log ${logfile})`);
}

export async function redisStatus(): Promise<boolean> {
  let url: string;
  try {
    url = redisUrl();
  } catch (err) {
    fail('redis', errorText(err));
    return false;
  }
  const r = await redisPing(url);
  if (r.ok) say('redis', `${green('up')} at ${safeUrl(url)}${r.version ? ` (redis ${r.version})` : ''}`);
  else fail('redis', `DOWN: ${safeUrl(url)} (${pingFailure(r)})`);
  return r.ok;
}
