/**
 * docker-compose.yml, deploy/Dockerfile and .dockerignore, checked without a Docker engine: the
 * apps get a stop grace period above their drain timeout, a healthcheck and a restart policy; the
 * image is on a supported Node LTS, exposes the apps' ports and checks its own health; every
 * command runs a script this repo builds; the build context leaves local state out.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ENV_SCHEMA } from '@app/config';

const ROOT = join(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const APPS = ['sync-worker', 'jobs-worker', 'read-api'];

/** Compose durations ("30s", "1m30s", "500ms") in milliseconds. */
function durationMs(value: string): number {
  let total = 0;
  for (const [, n, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(n) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as 'ms'];
  return total;
}

/** The source file of a built script (dist/x/y.js → x/y.ts). */
const sourceOf = (command: string[]) =>
  command
    .find((a) => a.startsWith('dist/'))!
    .replace(/^dist\//, '')
    .replace(/\.js$/, '.ts');

describe('docker-compose.yml', () => {
  // merge: resolve the `<<: *app` keys as compose does.
  const compose = parse(read('docker-compose.yml'), { merge: true });
  const services = compose.services as Record<string, Record<string, unknown> & { command?: string[]; environment?: Record<string, string> }>;

  it.each(APPS)('%s drains before compose would kill it, has a healthcheck and restarts', (app) => {
    const s = services[app] as { stop_grace_period?: string; healthcheck?: { test: string[] }; restart?: string; environment: Record<string, string>; command: string[] };
    const drainMs = Number(s.environment.SHUTDOWN_TIMEOUT_MS ?? ENV_SCHEMA.SHUTDOWN_TIMEOUT_MS.default);
    expect(durationMs(s.stop_grace_period ?? '10s')).toBeGreaterThan(drainMs);
    expect(s.healthcheck?.test).toEqual(['CMD', 'node', 'dist/scripts/healthcheck.js']);
    expect(s.restart).toBe('unless-stopped');
    expect(s.command).toEqual(['node', `dist/apps/${app}/src/main.js`]);
  });

  it('runs only scripts this repo builds, with variables the config schema knows', () => {
    for (const [name, s] of Object.entries(services)) {
      if (!s.build) continue;
      const command = s.command ?? [];
      expect(`${name}: ${sourceOf(command)} ${existsSync(join(ROOT, sourceOf(command))) ? 'exists' : 'is missing'}`).toMatch(/exists$/);
      expect(Object.keys(s.environment ?? {}).filter((k) => !(k in ENV_SCHEMA))).toEqual([]);
    }
  });

  it('creates topics and migrates before the apps start', () => {
    expect(services.topics.command).toEqual(['node', 'dist/scripts/topics.js', 'create']);
    expect(services.migrate.command).toEqual(['node', 'dist/scripts/migrate.js', 'up']);
    for (const app of APPS) {
      expect(services[app].depends_on).toMatchObject({
        migrate: { condition: 'service_completed_successfully' },
        topics: { condition: 'service_completed_successfully' },
      });
    }
  });
});

describe('deploy/Dockerfile', () => {
  const dockerfile = read('deploy/Dockerfile');
  const instructions = dockerfile.split('\n').filter((l) => /^[A-Z]+\s/.test(l));

  it('builds and runs on a supported Node LTS (22 or 24), which package.json engines, .nvmrc and the quick start agree on', () => {
    const froms = instructions.filter((l) => l.startsWith('FROM '));
    expect(froms.length).toBeGreaterThan(0);
    for (const from of froms) expect(from).toMatch(/^FROM node:(22|24)[.\w-]*( AS \w+)?$/);
    const engines = JSON.parse(read('package.json')).engines.node as string;
    expect(engines).toBe('>=22.12.0');
    expect(read('.nvmrc').trim()).toBe('22');
    expect(read('scripts/node-runtime.mjs')).toMatch(/NODE_VERSION = '22\.\d+\.\d+'/);
  });

  it('runs as the unprivileged user, exposes the apps ports and checks its health', () => {
    const final = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(final).toMatch(/^USER node$/m);
    const exposed = /^EXPOSE (.+)$/m.exec(final)?.[1].split(/\s+/).map(Number);
    expect(exposed?.sort()).toEqual(
      [ENV_SCHEMA.API_PORT.default, ENV_SCHEMA.SYNC_WORKER_METRICS_PORT.default, ENV_SCHEMA.JOBS_WORKER_METRICS_PORT.default].map(Number).sort(),
    );
    expect(final).toMatch(/^HEALTHCHECK .*CMD \["node", "dist\/scripts\/healthcheck\.js"\]$/m);
    expect(existsSync(join(ROOT, 'scripts', 'healthcheck.ts'))).toBe(true);
  });
});

describe('.dockerignore', () => {
  it('keeps local state, dependencies and build output out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['.git', 'node_modules', 'dist', '.infra', '.cache', '.env']));
    // What the Dockerfile copies must stay in the context.
    for (const path of ['apps', 'libs', 'scripts', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'nest-cli.json']) {
      expect(ignored).not.toContain(path);
    }
  });
});
