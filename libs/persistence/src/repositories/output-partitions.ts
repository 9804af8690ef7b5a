/**
 * The output topic's partition count as this process last read it, and the producer's
 * partitioner: the outbox stores each row's output partition when it is written, so the relay
 * replica owning that partition's slot publishes it. Starts from the configured count
 * (TOPIC_PARTITIONS, what the topic is created with) and is updated from the broker's metadata.
 */
export class OutputPartitions {
  constructor(
    private current: number,
    private readonly partitioner: (key: string, partitionCount: number) => number,
  ) {}

  get count(): number {
    return this.current;
  }

  /** Partitions are only ever added to a Kafka topic: a smaller count is stale metadata. */
  update(count: number): void {
    if (Number.isSafeInteger(count) && count > this.current) this.current = count;
  }

  partitionOf(key: string): number {
    return this.partitioner(key, this.current);
  }
}
