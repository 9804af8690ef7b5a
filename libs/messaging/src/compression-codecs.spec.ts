import { compress as snappyRaw } from 'snappy';
import { lz4Codec, snappyCodec, zstdCodec } from './compression-codecs';

const sample = Buffer.from(Array.from({ length: 100_000 }, (_, i) => `record ${i % 977};`).join(''));

describe('Kafka compression codecs', () => {
  it.each([
    ['snappy', snappyCodec],
    ['lz4', lz4Codec],
    ['zstd', zstdCodec],
  ] as const)('%s: what it compresses decompresses to the same bytes, smaller', async (_name, codec) => {
    const packed = await codec.compress({ buffer: sample });
    expect(packed.length).toBeLessThan(sample.length / 2);
    expect((await codec.decompress(packed)).equals(sample)).toBe(true);
  });

  it('snappy writes the xerial framing the Java client writes, in blocks of 32 KiB', async () => {
    const packed = await snappyCodec.compress({ buffer: sample });
    expect(packed.subarray(0, 8)).toEqual(Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]));
    let blocks = 0;
    for (let at = 16; at < packed.length; at += 4 + packed.readInt32BE(at)) blocks++;
    expect(blocks).toBe(Math.ceil(sample.length / (32 * 1024)));
  });

  it('snappy reads the single raw block librdkafka (kcat) writes', async () => {
    expect((await snappyCodec.decompress(await snappyRaw(sample))).equals(sample)).toBe(true);
  });

  it('snappy refuses a xerial stream whose block runs past the end', async () => {
    const packed = await snappyCodec.compress({ buffer: sample });
    await expect(snappyCodec.decompress(packed.subarray(0, packed.length - 10))).rejects.toThrow(/past the end/);
  });

  it.each([
    ['lz4', lz4Codec],
    ['zstd', zstdCodec],
  ] as const)('%s refuses bytes that are not its format', async (_name, codec) => {
    await expect(codec.decompress(Buffer.from('not compressed at all'))).rejects.toThrow();
  });
});
