/**
 * Who publishes the outbox, seen from outside the workers: the relay's slot table
 * (`outbox_relay_slots`: a slot is owned iff `owner` is set and `lease_expires_at > now()`) when
 * the relay is partitioned into slots, or the holder of the single relay's advisory lock before
 * that. The drill samples the slot table to check that no slot stays unowned longer than the
 * lease (`SLOT_TAKEOVER_MS`), and asks who owns what to kill an owner mid-publish.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { DataSource } from 'typeorm';
import { ENV_SCHEMA } from '@app/config';
import { SlotSample, slotGaps } from '@app/workload';
import { sleep } from '../infra';
import type { Check } from './checks';

const SLOT_TABLE = 'outbox_relay_slots';

/** The built relay knows slots when the configuration has their lease (it comes with the table). */
export function relayHasSlots(): boolean {
  return 'SLOT_TAKEOVER_MS' in ENV_SCHEMA;
}

/** The lease the workers run with: theirs when the drill sets it, else the schema's default. */
export function slotTakeoverMs(workerEnv: Record<string, string>): number | undefined {
  const setting = (ENV_SCHEMA as Record<string, { default: string } | undefined>).SLOT_TAKEOVER_MS;
  const raw = workerEnv.SLOT_TAKEOVER_MS ?? setting?.default;
  return raw === undefined ? undefined : Number(raw);
}

export async function slotTableExists(ds: DataSource): Promise<boolean> {
  const [{ found }] = await ds.query<{ found: boolean }[]>(
    `SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1) AS found`,
    [SLOT_TABLE],
  );
  return found;
}

/** Slots owned right now, by owner. */
export async function slotOwners(ds: DataSource): Promise<Map<string, number[]>> {
  const rows = await ds.query<{ slot: number; owner: string }[]>(
    `SELECT slot, owner FROM ${SLOT_TABLE} WHERE owner IS NOT NULL AND lease_expires_at > now() ORDER BY slot`,
  );
  const byOwner = new Map<string, number[]>();
  for (const r of rows) byOwner.set(r.owner, [...(byOwner.get(r.owner) ?? []), r.slot]);
  return byOwner;
}

/**
 * The pid of the process holding the single relay's advisory lock (the relay before slots): the
 * lock's session gives the client port of its connection, and the process with a socket on that
 * local port is the leader. Undefined when no process of `pids` holds it.
 */
export async function relayLockHolder(ds: DataSource, schema: string, pids: readonly number[]): Promise<number | undefined> {
  // A bigint advisory key is stored as classid (high 32 bits) and objid (low 32 bits), objsubid 1.
  const rows = await ds.query<{ port: number | null }[]>(
    `SELECT a.client_port AS port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended($1, 0)`,
    [`enrollment-sync:outbox-relay:${schema}`],
  );
  const port = rows[0]?.port;
  if (port === undefined || port === null) return undefined;
  const inodes = socketInodesOnLocalPort(port);
  return pids.find((pid) => processSocketInodes(pid).some((inode) => inodes.has(inode)));
}

function socketInodesOnLocalPort(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && parseInt(f[1].split(':')[1], 16) === port) inodes.add(f[9]);
    }
  }
  return inodes;
}

function processSocketInodes(pid: number): string[] {
  try {
    return readdirSync(`/proc/${pid}/fd`)
      .map((fd) => {
        try {
          return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
        } catch {
          return undefined; // closed meanwhile
        }
      })
      .filter((i): i is string => i !== undefined);
  } catch {
    return []; // the process is gone
  }
}

/**
 * Samples the slot table every `periodMs` for the whole drill. Each sample is stamped with the
 * database's `now()`, the clock the leases are compared with, so the measured intervals carry
 * no skew between the drill's clock and Postgres's.
 */
export class SlotSampler {
  readonly samples: SlotSample[] = [];
  /** The table exists (looked for at every sample until found: the relay may create it late). */
  private tableSeen = false;
  private errors = 0;
  private lastError = '';
  private running = false;
  private loop?: Promise<void>;

  constructor(
    private readonly ds: DataSource,
    private readonly periodMs = 250,
  ) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      const t0 = performance.now();
      try {
        this.tableSeen ||= await slotTableExists(this.ds);
        const rows = !this.tableSeen
          ? []
          : await this.ds.query<{ at: number; slot: number; owned: boolean }[]>(
              `SELECT (extract(epoch FROM now()) * 1000)::float8 AS at, slot, (owner IS NOT NULL AND lease_expires_at > now()) AS owned
                 FROM ${SLOT_TABLE} ORDER BY slot`,
            );
        if (rows.length > 0) this.samples.push({ at: rows[0].at, owned: new Map(rows.map((r) => [r.slot, r.owned])) });
      } catch (err) {
        // Postgres away (its fault) leaves a hole in the samples; the check reports the period.
        this.errors++;
        this.lastError = (err as Error).message;
      }
      await sleep(Math.max(0, this.periodMs - (performance.now() - t0)));
    }
  }

  /**
   * The check, over every sample so far. An interval measured between samples is within one
   * sampling period of the true one, so the bound is the lease plus the longest interval
   * between two samples plus `marginMs`.
   */
  check(replicas: number, takeoverMs: number | undefined, marginMs: number): Check {
    const name = 'slots owned';
    if (!this.tableSeen) {
      if (relayHasSlots())
        return { name, ok: false, summary: 'no slot table', problems: [`the relay has slots (SLOT_TAKEOVER_MS) but the schema has no ${SLOT_TABLE} table`] };
      return { name, ok: true, summary: 'skipped: no slot table (single relay)', problems: [] };
    }
    const gaps = slotGaps(this.samples);
    const problems: string[] = [];
    if (takeoverMs === undefined || !Number.isFinite(takeoverMs)) problems.push('SLOT_TAKEOVER_MS is unknown: set it with --slot-takeover-ms');
    if (gaps.allOwnedAt === undefined)
      problems.push(`the ${this.samples.length} sample(s) never saw every slot owned at once${this.errors ? ` (${this.errors} failed, last: ${this.lastError})` : ''}`);
    const ms = (n: number) => Math.round(n).toLocaleString('en-US');
    const bound = (takeoverMs ?? 0) + gaps.samplingPeriodMs + marginMs;
    for (const i of gaps.intervals) {
      if (i.to - i.from > bound) problems.push(`slot ${i.slot} unowned ${ms(i.to - i.from)} ms${i.open ? ' (still at the last sample)' : ''}, more than ${ms(bound)} ms`);
    }
    const slots = new Set(this.samples.flatMap((s) => [...s.owned.keys()])).size;
    const summary =
      `${slots} slots, ${replicas} replicas: longest unowned ${ms(gaps.maxGapMs)} ms ` +
      `(${gaps.intervals.length} interval(s)) ≤ ${ms(takeoverMs ?? NaN)} + ${ms(gaps.samplingPeriodMs)} sampling + ${marginMs} ms`;
    return { name, ok: problems.length === 0, summary: problems.length === 0 ? summary : `${problems.length} problem(s)`, problems: problems.slice(0, 10) };
  }
}
