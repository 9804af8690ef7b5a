/**
 * The drill's worker processes: N sync workers and M jobs workers, each a replica in a seat that
 * a supervisor keeps filled (a replica that dies on its own is replaced at once; one the drill
 * kills is replaced after a back-off). Seats come and go when a replica joins or leaves.
 */
import { join } from 'node:path';
import { sleep, WorkerChild } from '../infra';

export type Role = 'sync' | 'jobs';

export interface Replica {
  role: Role;
  /** Incarnation number within the role: names the log file (`sync-worker-3.log`). */
  n: number;
  child: WorkerChild;
}

export class Replicas {
  /** Seat → the replica in it; a seat is one of the N (or M) copies a deployment would run. */
  private readonly seats = new Map<string, Replica>();
  private readonly incarnation: Record<Role, number> = { sync: 0, jobs: 0 };
  private nextSeat = 0;
  /** Exits nobody asked for (a crash, not a kill of ours). */
  readonly unexpectedExits: string[] = [];
  private stopping = false;

  constructor(
    private readonly scripts: Record<Role, string>,
    private readonly env: Record<string, string>,
    private readonly outDir: string,
    private readonly log: (msg: string) => void,
  ) {}

  /** Starts a replica in a new seat and returns the seat. */
  add(role: Role): string {
    const seat = `${role}#${++this.nextSeat}`;
    this.start(seat, role);
    return seat;
  }

  private start(seat: string, role: Role): Replica {
    const n = ++this.incarnation[role];
    const child = new WorkerChild(this.scripts[role], this.env, { logFile: join(this.outDir, `${role}-worker-${n}.log`) });
    const replica = { role, n, child };
    this.seats.set(seat, replica);
    child.proc.on('exit', (code, signal) => {
      if (this.stopping || this.seats.get(seat) !== replica || signal === 'SIGKILL') return;
      this.unexpectedExits.push(`${role} worker #${n} exited (code ${code}, signal ${signal}); see ${role}-worker-${n}.log`);
      this.log(`  ${role} worker #${n} exited on its own (code ${code}): restarting it`);
      setTimeout(() => {
        if (!this.stopping && this.seats.get(seat) === replica) this.start(seat, role);
      }, 1000);
    });
    return replica;
  }

  /** Seats of a role, oldest first. */
  seatsOf(role: Role): string[] {
    return [...this.seats].filter(([, r]) => r.role === role).map(([seat]) => seat);
  }

  replica(seat: string): Replica {
    const r = this.seats.get(seat);
    if (!r) throw new Error(`no replica in seat ${seat}`);
    return r;
  }

  /** Live sync-worker pids by seat, to tell which replica a slot owner is. */
  livePids(role: Role): Map<number, string> {
    return new Map([...this.seats].filter(([, r]) => r.role === role && !r.child.exited).map(([seat, r]) => [r.child.pid, seat]));
  }

  describe(seat: string): string {
    const r = this.replica(seat);
    return `${r.role} #${r.n} (pid ${r.child.pid})`;
  }

  /**
   * kill -9 the replicas in `seats` at once, then a new process in each after `restartAfterMs`
   * (a supervisor's back-off).
   */
  async kill9(seats: readonly string[], restartAfterMs: number): Promise<void> {
    const victims = seats.map((seat) => ({ seat, replica: this.replica(seat) }));
    for (const { replica } of victims) if (!replica.child.exited) replica.child.proc.kill('SIGKILL');
    await Promise.all(victims.map(({ replica }) => replica.child.waitExit(10_000)));
    await sleep(restartAfterMs);
    for (const { seat, replica } of victims) if (!this.stopping && this.seats.get(seat) === replica) this.start(seat, replica.role);
  }

  /** A graceful leave (SIGTERM, as a scale-down): the seat goes with it. */
  async leave(seat: string): Promise<void> {
    const r = this.replica(seat);
    this.seats.delete(seat);
    await r.child.stop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.seats.values()].map((r) => r.child.stop()));
  }
}
