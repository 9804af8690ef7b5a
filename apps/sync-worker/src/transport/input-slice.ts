import { BaseRpcContext } from '@nestjs/microservices';
import type { KafkaMessage } from 'kafkajs';

/** The one pattern the batch transport emits: a slice of one partition's batch, applied as a unit. */
export const INPUT_SLICE = 'enrollment-sync.input-slice';

/** The payload of an INPUT_SLICE event: consecutive messages of one partition. */
export interface InputSlice {
  topic: string;
  partition: number;
  messages: KafkaMessage[];
}

/** A heartbeat failed while a handler was working on a slice: the group is rebalancing and the slice is no longer ours. */
export class PartitionLost extends Error {
  constructor(readonly heartbeatError: unknown) {
    super('heartbeat failed while applying a slice');
  }
}

/**
 * What a slice handler gets besides the payload. The transport hands the same context to every
 * attempt at one slice (it retries a failed handler in place), so a handler may keep what it
 * already did for the slice keyed on it.
 */
export class InputSliceContext extends BaseRpcContext<[string, number, () => Promise<void>]> {
  getTopic(): string {
    return this.args[0];
  }

  getPartition(): number {
    return this.args[1];
  }

  /** Tells the group this consumer is alive; throws PartitionLost once the partition is no longer ours. */
  heartbeat(): Promise<void> {
    return this.args[2]();
  }
}
