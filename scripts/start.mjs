// `npm start`: the whole service in the foreground on local defaults. Brings the infrastructure
// up, builds, migrates, then runs the three apps (sync worker, jobs worker, read API) with their
// JSON logs rendered as one readable line each. Ctrl-C stops them gracefully.
// `npm run demo` does the same, then feeds a built-in sample and exits when it has been shown.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const root = join(import.meta.dirname, '..');
const demo = process.argv.includes('--demo');
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

step('infrastructure', process.execPath, [join(root, 'scripts', 'infra.mjs'), 'up']);
step('build', process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build', '--silent']);
step('migrate', process.execPath, [join(root, 'dist', 'scripts', 'migrate.js'), 'up']);

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

const children = [];
const startApp = (app) => {
  const child = spawn(process.execPath, [join(root, 'dist', 'apps', app, 'src', 'main.js')], {
    cwd: root,
    env: { ...env, APP_NAME: app },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (l) => console.log(render(app, l)));
  }
  child.on('exit', (code, signal) => {
    console.log(`[${app}] exited (${signal ?? code})`);
    if (!stopping) stop(1);
  });
  children.push(child);
};

let stopping = false;
const stop = (code) => {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  const done = () => children.every((c) => c.exitCode !== null || c.signalCode !== null);
  const t = setInterval(() => {
    if (done()) {
      clearInterval(t);
      process.exit(code);
    }
  }, 100);
};
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

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
    console.log(`== ready: ${Object.entries(health.checks).map(([k, v]) => `${k} ${v.ok ? 'ok' : 'DOWN'}`).join(', ')}`);
    console.log(`== read API on http://127.0.0.1:${port} (health: /health/ready, metrics: /metrics)`);
    if (!demo) return;
    const demoScript = join(root, 'dist', 'scripts', 'demo.js');
    const r = spawn(process.execPath, [demoScript], { cwd: root, env, stdio: 'inherit' });
    r.on('exit', (code) => stop(code ?? 1));
  },
  (err) => {
    console.error(`== ${err.message}`);
    stop(1);
  },
);
