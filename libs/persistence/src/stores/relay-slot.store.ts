import { DataSource } from 'typeorm';
import { OutboxRepository } from '../repositories/outbox.repository';
import { RelaySlotRepository, SlotLease } from '../repositories/relay-slot.repository';

/** Slot leases and replica heartbeats on the pool, for the partitioned relay. */
export class RelaySlotStore {
  constructor(
    private readonly ds: DataSource,
    private readonly slots: RelaySlotRepository = new RelaySlotRepository(),
    private readonly outbox: OutboxRepository = new OutboxRepository(),
  ) {}

  ensureSlots(count: number): Promise<number> {
    return this.slots.ensureSlots(this.ds, count);
  }

  heartbeat(replica: string, ttlMs: number): Promise<number> {
    return this.slots.heartbeat(this.ds, replica, ttlMs);
  }

  leave(replica: string): Promise<void> {
    return this.slots.leave(this.ds, replica);
  }

  renew(replica: string, ttlMs: number): Promise<SlotLease[]> {
    return this.slots.renew(this.ds, replica, ttlMs);
  }

  acquire(replica: string, max: number, ttlMs: number, orphanAfterMs: number): Promise<SlotLease[]> {
    return this.slots.acquire(this.ds, replica, max, ttlMs, orphanAfterMs);
  }

  release(replica: string, slots: readonly number[]): Promise<void> {
    return this.slots.release(this.ds, replica, slots);
  }

  owners(): Promise<{ slot: number; owner: string | null }[]> {
    return this.slots.owners(this.ds);
  }

  /** Purges published rows only while `replica` still owns `slot`; false when it no longer does. */
  purgeOwned(seqs: readonly string[], slot: number, replica: string): Promise<boolean> {
    return this.outbox.purgeOwned(this.ds, seqs, slot, replica);
  }
}
