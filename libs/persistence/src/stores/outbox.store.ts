import { DataSource } from 'typeorm';
import { OutboxRepository, ParkedRows, PendingEntry } from '../repositories/outbox.repository';

/**
 * The outbox as the relay and the readiness check use it: OutboxRepository's statements on the
 * pool, each in its own transaction where the statement needs one. The apps get this instead of
 * a DataSource, so no connection handling leaks out of the persistence lib.
 */
export class OutboxStore {
  constructor(
    private readonly ds: DataSource,
    private readonly outbox: OutboxRepository = new OutboxRepository(),
  ) {}

  next(limit: number, partitions: readonly number[]): Promise<PendingEntry[]> {
    return this.outbox.next(this.ds, limit, partitions);
  }

  unassignedKeys(limit: number): Promise<string[]> {
    return this.outbox.unassignedKeys(this.ds, limit);
  }

  assignPartitions(keys: readonly string[], partitions: readonly number[]): Promise<void> {
    return this.outbox.assignPartitions(this.ds, keys, partitions);
  }

  purge(seqs: readonly string[]): Promise<void> {
    return this.outbox.purge(this.ds, seqs);
  }

  park(enrollmentId: string, version: number, reason: string): Promise<ParkedRows> {
    return this.ds.transaction((tx) => this.outbox.park(tx, enrollmentId, version, reason));
  }

  holdBehindParked(): Promise<ParkedRows[]> {
    return this.ds.transaction((tx) => this.outbox.holdBehindParked(tx));
  }

  parkedCount(): Promise<number> {
    return this.outbox.parkedCount(this.ds);
  }

  pendingStats(): Promise<{ count: number; oldestAgeSeconds: number }> {
    return this.outbox.pendingStats(this.ds);
  }

  oldestPendingAgeSeconds(): Promise<number> {
    return this.outbox.oldestPendingAgeSeconds(this.ds);
  }
}
