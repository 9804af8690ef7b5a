import { PartitionMetadata, Partitioners } from 'kafkajs';

/**
 * kafkajs's default partitioner (murmur2 of the key, as the Java client), the one every producer
 * of the service uses. For a keyed message it depends only on the key and the partition count,
 * so the relay can tell which partition a key's events go to before it sends them.
 */
const defaultPartitioner = Partitioners.DefaultPartitioner();

const metadataByCount = new Map<number, PartitionMetadata[]>();

function metadataOf(partitionCount: number): PartitionMetadata[] {
  let metadata = metadataByCount.get(partitionCount);
  if (!metadata) {
    metadata = Array.from({ length: partitionCount }, (_, partitionId) => ({
      partitionErrorCode: 0,
      partitionId,
      leader: 0,
      replicas: [0],
      isr: [0],
    }));
    metadataByCount.set(partitionCount, metadata);
  }
  return metadata;
}

/** The partition a producer with the default partitioner sends `key` to, on a topic of `partitionCount` partitions. */
export function partitionForKey(key: string, partitionCount: number): number {
  if (!Number.isSafeInteger(partitionCount) || partitionCount < 1) throw new RangeError(`partition count must be a positive integer, got ${partitionCount}`);
  return defaultPartitioner({ topic: '', partitionMetadata: metadataOf(partitionCount), message: { key, value: null } });
}
