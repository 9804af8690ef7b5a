import { Decoder as ZstdDecoder, Encoder as ZstdEncoder } from '@toondepauw/node-zstd';
import { compressFrame, decompressFrame } from 'lz4-napi';
import { compress as snappyCompress, uncompress as snappyUncompress } from 'snappy';

/**
 * The codecs Kafka has besides gzip (which kafkajs has itself), in the shape kafkajs's
 * `CompressionCodecs` registry takes. Each follows the format the Java client writes and reads,
 * so a batch from any producer (Java, librdkafka/kcat, Go, kafkajs) decodes, and a batch this
 * service compresses is one the broker and every other client accept:
 *
 * - snappy: the Java client frames blocks the way xerial's SnappyOutputStream does (a magic
 *   header, then length-prefixed raw blocks); librdkafka writes one raw block. Both are read;
 *   xerial framing is written.
 * - lz4: the LZ4 frame format (independent blocks), which Kafka uses since message format v1.
 * - zstd: standard zstd frames.
 */
export interface KafkaCodec {
  compress: (encoder: { buffer: Buffer }) => Promise<Buffer>;
  decompress: (buffer: Buffer) => Promise<Buffer>;
}

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = XERIAL_MAGIC.length + 8;
/** The Java client's block size (xerial's default). */
const XERIAL_BLOCK_BYTES = 32 * 1024;

async function snappyBlock(block: Buffer): Promise<Buffer> {
  return (await snappyUncompress(block, { asBuffer: true })) as Buffer;
}

export const snappyCodec: KafkaCodec = {
  async compress({ buffer }) {
    const header = Buffer.alloc(XERIAL_HEADER_BYTES);
    XERIAL_MAGIC.copy(header);
    header.writeInt32BE(1, XERIAL_MAGIC.length); // version
    header.writeInt32BE(1, XERIAL_MAGIC.length + 4); // oldest compatible version
    const parts: Buffer[] = [header];
    for (let at = 0; at < buffer.length; at += XERIAL_BLOCK_BYTES) {
      const block = await snappyCompress(buffer.subarray(at, at + XERIAL_BLOCK_BYTES));
      const length = Buffer.alloc(4);
      length.writeInt32BE(block.length);
      parts.push(length, block);
    }
    return Buffer.concat(parts);
  },
  async decompress(buffer) {
    if (buffer.length < XERIAL_HEADER_BYTES || !buffer.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) return snappyBlock(buffer);
    const blocks: Buffer[] = [];
    for (let at = XERIAL_HEADER_BYTES; at < buffer.length;) {
      if (at + 4 > buffer.length) throw new Error('snappy: truncated xerial block length');
      const length = buffer.readInt32BE(at);
      if (length < 0 || at + 4 + length > buffer.length) throw new Error('snappy: xerial block runs past the end of the batch');
      blocks.push(await snappyBlock(buffer.subarray(at + 4, at + 4 + length)));
      at += 4 + length;
    }
    return Buffer.concat(blocks);
  },
};

export const lz4Codec: KafkaCodec = {
  compress: ({ buffer }) => compressFrame(buffer),
  decompress: (buffer) => decompressFrame(buffer),
};

/** Level 3: zstd's own default, which the Java client uses too. */
const ZSTD_LEVEL = 3;
const zstdEncoder = new ZstdEncoder(ZSTD_LEVEL);
const zstdDecoder = new ZstdDecoder();

export const zstdCodec: KafkaCodec = {
  compress: ({ buffer }) => zstdEncoder.encode(buffer),
  decompress: (buffer) => zstdDecoder.decode(buffer),
};
