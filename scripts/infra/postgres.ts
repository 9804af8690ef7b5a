/** The machine's PostgreSQL: reachable (started with pg_ctlcluster when local and down), with the service's and the tests' databases. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { dim, DOCKER_HINT, errorCode, fail, green, InfraError, red, say, sleep } from './output';
import { which } from './processes';
import { databaseTargets, DatabaseTarget, isLocalHost, maintenanceUrl, safeUrl } from './settings';

type Reachability = { ok: true } | { ok: false; err: unknown };

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

async function pgReachable(url: string): Promise<Reachability> {
  const client = new Client({ connectionString: maintenanceUrl(url), connectionTimeoutMillis: 3_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return { ok: true };
  } catch (err) {
    return { ok: false, err };
  } finally {
    await client.end().catch(() => undefined);
  }
}

const connRefused = (err: unknown): boolean => ['ECONNREFUSED', 'ENOENT', 'ETIMEDOUT', 'EHOSTUNREACH'].includes(errorCode(err) ?? '') || /timeout/i.test(errorText(err));

/** Debian's clusters (pg_ctlcluster), the ones a fresh machine of this project has. */
function tryStartPostgres(): boolean {
  if (!which('pg_ctlcluster')) return false;
  let versions: string[] = [];
  try {
    versions = fs.readdirSync('/etc/postgresql').filter((v) => fs.existsSync(path.join('/etc/postgresql', v, 'main')));
  } catch {
    return false;
  }
  let started = false;
  for (const v of versions) {
    say('postgres', `not reachable: pg_ctlcluster --skip-systemctl-redirect ${v} main start`);
    const r = spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', v, 'main', 'start'], { encoding: 'utf8' });
    if (r.status === 0) started = true;
    else console.error(dim((r.stderr || r.stdout || '').trim()));
  }
  return started;
}

async function databaseExists(client: Client, name: string): Promise<boolean> {
  const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return (rowCount ?? 0) > 0;
}

async function ensureDatabase(t: DatabaseTarget): Promise<'created' | 'present'> {
  const client = new Client({ connectionString: maintenanceUrl(t.url), connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    if (await databaseExists(client, t.name)) return 'present';
    try {
      // An identifier cannot be a bind parameter; dbName() allowed only [a-z0-9_] in it.
      await client.query(`CREATE DATABASE "${t.name.replace(/"/g, '""')}"`);
      return 'created';
    } catch (err) {
      if (errorCode(err) !== '42P04') throw err; // duplicate_database: a concurrent run won
      return 'present';
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function postgresUp(): Promise<void> {
  const targets = databaseTargets();
  const servers = [...new Set(targets.map((t) => maintenanceUrl(t.url)))];
  for (const server of servers) {
    let r = await pgReachable(server);
    if (!r.ok && connRefused(r.err) && isLocalHost(new URL(server).hostname) && tryStartPostgres()) {
      for (let i = 0; i < 30 && !r.ok; i++) {
        await sleep(500);
        r = await pgReachable(server);
      }
    }
    if (!r.ok) {
      throw new InfraError(
        `${safeUrl(server)} not reachable (${errorCode(r.err) ?? ''} ${errorText(r.err)}`.trim() + `). Start PostgreSQL, fix DATABASE_URL, or use Docker: ${DOCKER_HINT}`,
      );
    }
  }
  const created: string[] = [];
  const present: string[] = [];
  for (const t of targets) ((await ensureDatabase(t)) === 'created' ? created : present).push(t.name);
  const parts: string[] = [];
  if (created.length) parts.push(`database${created.length > 1 ? 's' : ''} ${created.join(', ')} created`);
  if (present.length) parts.push(`${present.join(', ')} already present`);
  say('postgres', `${parts.join('; ')} (${safeUrl(targets[0].url)})`);
}

export async function postgresStatus(): Promise<boolean> {
  let targets: DatabaseTarget[];
  try {
    targets = databaseTargets();
  } catch (err) {
    fail('postgres', errorText(err));
    return false;
  }
  const r = await pgReachable(targets[0].url);
  if (!r.ok) {
    fail('postgres', `DOWN: ${safeUrl(targets[0].url)} (${errorCode(r.err) ?? errorText(r.err)})`);
    return false;
  }
  let ok = true;
  const states: string[] = [];
  for (const t of targets) {
    const client = new Client({ connectionString: maintenanceUrl(t.url), connectionTimeoutMillis: 3_000 });
    try {
      await client.connect();
      const exists = await databaseExists(client, t.name);
      states.push(`${t.name} ${exists ? 'present' : red('MISSING')}`);
      if (!exists) ok = false;
    } catch (err) {
      states.push(`${t.name} ${red(`unreachable (${errorCode(err) ?? errorText(err)})`)}`);
      ok = false;
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  (ok ? say : fail)('postgres', `${ok ? green('up') : 'DEGRADED:'} at ${safeUrl(targets[0].url)}, databases: ${states.join(', ')}`);
  return ok;
}
