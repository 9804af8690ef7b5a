import { partitionForKey } from './key-partitioner';

describe('partitionForKey', () => {
  // Computed with the Java client 4.1.2 (Utils.toPositive(Utils.murmur2(key)) % n), which other
  // producers of the topic and Kafka's own tools use: the relay must agree with them.
  const JAVA: [key: string, p6: number, p12: number][] = [
    ['42:7', 5, 5],
    ['42:3', 0, 6],
    ['1:1', 4, 10],
    ['7:100', 3, 3],
    ['123456789:987654321', 0, 0],
    ['0:0', 2, 8],
    ['42:1', 2, 2],
    ['42:2', 4, 10],
  ];

  it.each(JAVA)('puts %s where the Java client does (6 and 12 partitions)', (key, p6, p12) => {
    expect(partitionForKey(key, 6)).toBe(p6);
    expect(partitionForKey(key, 12)).toBe(p12);
    expect(partitionForKey(key, 1)).toBe(0);
  });

  it('refuses a partition count that is not a positive integer', () => {
    for (const n of [0, -1, 1.5, Number.NaN]) expect(() => partitionForKey('42:7', n)).toThrow(RangeError);
  });
});
