// `npm start`: the whole service in the foreground on local defaults. Brings the infrastructure
// up, builds, migrates, then runs and supervises the three apps (sync worker, jobs worker, read
// API) with their JSON logs rendered as one readable line each. An app that exits on its own is
// restarted with backoff; Ctrl-C (SIGINT) or SIGTERM drains all three and restarts nothing.
// `--apps-only` skips infrastructure, build and migration (the caller did them).
// `npm run demo` does the same, then feeds a built-in sample and exits when it has been shown.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ensureSupportedNode } from './node-runtime.mjs';

await ensureSupportedNode();
const root = join(import.meta.dirname, '..');
const demo = process.argv.includes('--demo');
const appsOnly = process.argv.includes('--apps-only');
const env = { ...process.env };

const step = (label, cmd, args) => {
  console.log(`== ${label}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) {
    console.error(`== ${label} failed`);
    process.exit(r.status ?? 1);
  }
};

// A local token for the API, generated once and kept out of the repo and the logs.
if (!env.API_TOKENS) {
  const file = join(root, '.infra', 'api-token');
  if (!existsSync(file)) {
    mkdirSync(join(root, '.infra'), { recursive: true });
    writeFileSync(file, randomBytes(24).toString('hex'), { mode: 0o600 });
  }
  env.API_TOKENS = readFileSync(file, 'utf8').trim();
  console.log('api: bearer token for local use is in .infra/api-token');
}

if (!appsOnly) {
  step('infrastructure', process.execPath, [join(root, 'scripts', 'run-ts.mjs'), join(root, 'scripts', 'infra', 'cli.ts'), 'up']);
  step('build', process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build', '--silent']);
  step('migrate', process.execPath, [join(root, 'dist', 'scripts', 'migrate.js'), 'up']);
}

const LEVELS = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const render = (app, line) => {
  try {
    const o = JSON.parse(line);
    const extra = o.err ? ` ${o.err.message ?? ''}` : '';
    return `${new Date(o.time).toISOString().slice(11, 23)} ${(LEVELS[o.level] ?? o.level).padEnd(5)} [${app}] ${o.msg ?? ''}${extra}`;
  } catch {
    return `[${app}] ${line}`;
  }
};

// Restart policy, as an orchestrator's: the delay doubles with each crash in a row up to a cap,
// and a run that lasted RESET_AFTER_MS counts as healthy again (the next crash waits BASE_MS).
const positive = (name, fallback) => {
  const n = Number(env[name] ?? fallback);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`== ${name} must be a positive integer (milliseconds), got "${env[name]}"`);
    process.exit(2);
  }
  return n;
};
const BASE_MS = positive('START_RESTART_BASE_MS', 1000);
const MAX_MS = Math.max(BASE_MS, positive('START_RESTART_MAX_MS', 30_000));
const RESET_AFTER_MS = 60_000;
const shutdownTimeoutMs = Number(env.SHUTDOWN_TIMEOUT_MS ?? 15_000);

/** @type {Map<string, {child: import('node:child_process').ChildProcess | null, startedAt: number, streak: number, restarts: number, timer: NodeJS.Timeout | null}>} */
const apps = new Map();
let stopping = false;

const startApp = (app) => {
  const state = apps.get(app) ?? { child: null, startedAt: 0, streak: 0, restarts: 0, timer: null };
  apps.set(app, state);
  const child = spawn(process.execPath, [join(root, 'dist', 'apps', app, 'src', 'main.js')], {
    cwd: root,
    env: { ...env, APP_NAME: app },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  state.child = child;
  state.startedAt = Date.now();
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (l) => console.log(render(app, l)));
  }
  child.on('exit', (code, signal) => {
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    if (stopping) {
      console.log(`[${app}] stopped (${how})`);
      return;
    }
    const ranMs = Date.now() - state.startedAt;
    state.streak = ranMs >= RESET_AFTER_MS ? 1 : state.streak + 1;
    state.restarts += 1;
    const delay = Math.min(MAX_MS, BASE_MS * 2 ** (state.streak - 1));
    console.log(`[${app}] exited (${how}) after ${(ranMs / 1000).toFixed(1)} s: restarting in ${delay} ms (restart #${state.restarts}, ${state.streak} in a row)`);
    state.timer = setTimeout(() => {
      state.timer = null;
      if (!stopping) startApp(app);
    }, delay);
  });
};

const running = () => [...apps.values()].filter((s) => s.child && s.child.exitCode === null && s.child.signalCode === null);
const stop = (code, why) => {
  if (stopping) return;
  stopping = true;
  console.log(`== ${why}: draining all apps (no restarts from now on)`);
  for (const s of apps.values()) {
    if (s.timer) clearTimeout(s.timer);
    s.timer = null;
  }
  for (const s of running()) s.child.kill('SIGTERM');
  // The apps exit by themselves after SHUTDOWN_TIMEOUT_MS; this only covers one that hangs anyway.
  const killAt = Date.now() + shutdownTimeoutMs + 5000;
  const t = setInterval(() => {
    const left = running();
    if (left.length > 0 && Date.now() > killAt) for (const s of left) s.child.kill('SIGKILL');
    if (left.length === 0) {
      clearInterval(t);
      const restarts = [...apps].map(([app, s]) => `${app} ${s.restarts}`).join(', ');
      console.log(`== stopped (restarts: ${restarts})`);
      process.exit(code);
    }
  }, 100);
};
process.on('SIGINT', () => stop(0, 'SIGINT'));
process.on('SIGTERM', () => stop(0, 'SIGTERM'));

for (const app of ['sync-worker', 'jobs-worker', 'read-api']) startApp(app);

const port = Number(env.API_PORT ?? 3000);
const waitReady = async () => {
  const deadline = Date.now() + 90_000;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health/ready`);
      last = await res.text();
      if (res.ok) return JSON.parse(last);
    } catch (e) {
      last = e.message;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`service not ready after 90 s: ${last}`);
};

waitReady().then(
  async (health) => {
    console.log(
      `== ready: ${Object.entries(health.checks)
        .map(([k, v]) => `${k} ${v.ok ? 'ok' : 'DOWN'}`)
        .join(', ')}`,
    );
    console.log(`== read API on http://127.0.0.1:${port} (health: /health/ready, metrics: /metrics)`);
    if (!demo) return;
    const demoScript = join(root, 'dist', 'scripts', 'demo.js');
    const r = spawn(process.execPath, [demoScript], { cwd: root, env, stdio: 'inherit' });
    r.on('exit', (code) => stop(code ?? 1, 'demo finished'));
  },
  (err) => {
    console.error(`== ${err.message}`);
    stop(1, 'not ready');
  },
);
