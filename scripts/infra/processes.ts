/** Processes the infra commands start or find: PATH lookup, pid files, liveness, listening sockets (Linux /proc, best effort elsewhere). */
import fs from 'node:fs';
import path from 'node:path';
import { errorCode, sleep } from './output';

export function which(cmd: string): string | null {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return null;
}

export function readPid(pidFile: string): number | null {
  try {
    const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function procState(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

/** Alive and not a zombie (the broker outlives the command that started it; whoever reaps it may be slow). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return errorCode(err) === 'EPERM';
  }
  return procState(pid) !== 'Z';
}

export function cmdline(pid: number): string[] | null {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return null;
  }
}

/** Best effort: which process listens on `port`, and which Kafka version does it run? (Linux /proc, same user or root) */
export function versionListeningOn(port: number): { pid: number; version: string | null } | null {
  try {
    const hex = port.toString(16).toUpperCase().padStart(4, '0');
    const inodes = new Set<string>();
    for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
      let text = '';
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f.length > 9 && f[1].endsWith(`:${hex}`) && f[3] === '0A') inodes.add(f[9]);
      }
    }
    if (inodes.size === 0) return null;
    for (const pidDir of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      let fds: string[] = [];
      try {
        fds = fs.readdirSync(`/proc/${pidDir}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        let target = '';
        try {
          target = fs.readlinkSync(`/proc/${pidDir}/fd/${fd}`);
        } catch {
          continue;
        }
        const m = /^socket:\[(\d+)\]$/.exec(target);
        if (m && inodes.has(m[1])) {
          const args = (cmdline(Number(pidDir)) ?? []).join(' ');
          const v = /kafka_2\.1[23]-(\d+\.\d+\.\d+)\.jar/.exec(args) ?? /\.cache\/kafka\/(\d+\.\d+\.\d+)\/libs/.exec(args);
          return { pid: Number(pidDir), version: v ? v[1] : null };
        }
      }
    }
  } catch {
    /* best effort */
  }
  return null;
}

export function tail(file: string, lines = 40): string {
  try {
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .slice(-lines - 1)
      .join('\n');
  } catch {
    return '';
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; says which it took. */
export async function stopPid(pid: number, graceMs = 30_000): Promise<string> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'already gone';
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return 'SIGTERM';
    await sleep(200);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
  for (let i = 0; i < 25 && isAlive(pid); i++) await sleep(200);
  return 'SIGKILL after 30s';
}
