import { randomBytes } from 'node:crypto';
import { CompressionCodecs, CompressionTypes, IHeaders } from 'kafkajs';
import { headerBytes, MAX_HEADER_BYTES, MAX_HEADERS } from '@app/contracts';
import { KafkaCodec, lz4Codec, snappyCodec, zstdCodec } from './compression-codecs';

/**
 * What the service changes in how kafkajs (2.2.4, pinned: these are its internals, and it is no
 * longer maintained) turns fetched bytes into messages, so that no record can stop a partition:
 *
 * - **Codecs**: snappy, lz4 and zstd are registered beside gzip. Without them a batch a Java or
 *   librdkafka producer compressed with its default settings stops every partition the fetch
 *   carried, for good.
 * - **Undecodable batches**: when a batch still cannot be decompressed (a codec id Kafka does not
 *   define, a corrupt payload), its records are replaced by placeholders with the same offsets.
 *   The first one becomes one dead letter for the whole offset range (its value is the batch as
 *   it was read, so it can be examined or decoded elsewhere); the others are no-ops covered by it.
 *   The partition moves on instead of the consumer crashing on the same fetch forever.
 * - **Header bounds**: kafkajs builds a message's headers object by copying it once per header,
 *   so 20,000 headers cost minutes of the event loop. The header array is read with the contract
 *   bounds (MAX_HEADERS, MAX_HEADER_BYTES) instead: headers beyond them are skipped unread, and
 *   the message is marked to be dead-lettered with what fit.
 *
 * Both marks travel as a header only this process can write: its value starts with a random
 * token made at startup, so no upstream can forge one, and the dead-letter copy drops it.
 */

/** The offsets and reason a placeholder stands for, or the bounds a message broke. */
export type WireDefect =
  | { kind: 'header-flood'; headers: number; bytes: number; kept: number }
  | {
      kind: 'undecodable-batch';
      firstOffset: string;
      lastOffset: string;
      records: number;
      codec: string;
      error: string;
      /** True for every placeholder but the first: the first one's dead letter covers it. */
      covered: boolean;
    };

const MARK_HEADER = 'enrollment-sync-wire-defect';
const TOKEN = randomBytes(16).toString('hex');

function mark(defect: WireDefect): Buffer {
  return Buffer.from(TOKEN + JSON.stringify(defect));
}

/** The defect the decoder marked this message with, if any. */
export function wireDefectOf(message: { headers?: IHeaders }): WireDefect | undefined {
  const raw = message.headers?.[MARK_HEADER];
  for (const v of Array.isArray(raw) ? raw : [raw]) {
    if (v === undefined) continue;
    const text = v.toString();
    if (text.startsWith(TOKEN)) return JSON.parse(text.slice(TOKEN.length)) as WireDefect;
  }
  return undefined;
}

/** The headers without the decoder's mark (what a dead-letter copy keeps). */
export function withoutWireMark<T extends IHeaders | undefined>(headers: T): T {
  if (headers === undefined || !(MARK_HEADER in headers)) return headers;
  const out: IHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name !== MARK_HEADER) out[name] = value;
    else {
      const foreign = (Array.isArray(value) ? value : [value]).filter((v): v is Buffer | string => v !== undefined && !v.toString().startsWith(TOKEN));
      if (foreign.length > 0) out[name] = foreign.length === 1 ? foreign[0] : foreign;
    }
  }
  return out as T;
}

/** The dead letter's reason for a marked message. */
export function wireDefectReason(d: WireDefect): string {
  if (d.kind === 'header-flood') {
    return (
      `the message has ${d.headers} headers holding ${d.bytes} bytes, over the limits of ${MAX_HEADERS} headers and ` +
      `${MAX_HEADER_BYTES} bytes; this copy keeps the first ${d.kept}`
    );
  }
  return (
    `the record batch at offsets ${d.firstOffset}-${d.lastOffset} (${d.records} records, ${d.codec}) could not be decoded: ${d.error}; ` +
    `its records were skipped, and this dead letter's value is the batch as read`
  );
}

// kafkajs internals, read through `require` because they are not part of its typed API.
interface WireDecoder {
  buffer: Buffer;
  offset: number;
  readVarInt(): number;
}
interface WireHeader {
  key: string | null;
  value: Buffer | null;
}
type ArrayReader = (decoder: WireDecoder) => unknown;
/* eslint-disable @typescript-eslint/no-require-imports -- kafkajs's decoder internals have no typed entry point */
const KafkaDecoder = require('kafkajs/src/protocol/decoder') as { prototype: { readVarIntArray(this: WireDecoder, reader: ArrayReader): unknown[] } };
const HeaderDecoder = require('kafkajs/src/protocol/recordBatch/header/v0/decoder') as ArrayReader;
/* eslint-enable @typescript-eslint/no-require-imports */

let installed = false;

/** Installs the codecs, the batch fallback and the header bounds; idempotent. */
export function installKafkaRecordDecoding(): void {
  if (installed) return;
  installed = true;
  // Called with the decoder as `this` below, as kafkajs calls it.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const readVarIntArray = KafkaDecoder.prototype.readVarIntArray;
  KafkaDecoder.prototype.readVarIntArray = function (this: WireDecoder, reader: ArrayReader): unknown[] {
    return reader === HeaderDecoder ? readBoundedHeaders(this) : readVarIntArray.call(this, reader);
  };
  const codecs = CompressionCodecs as unknown as Record<number, () => KafkaCodec>;
  const gzip = codecs[CompressionTypes.GZIP]();
  const known: [number, string, KafkaCodec | undefined][] = [
    [CompressionTypes.GZIP, 'gzip', gzip],
    [CompressionTypes.Snappy, 'snappy', snappyCodec],
    [CompressionTypes.LZ4, 'lz4', lz4Codec],
    [CompressionTypes.ZSTD, 'zstd', zstdCodec],
    // The attributes' codec field has three bits: ids 5-7 are not codecs at all.
    [5, 'codec id 5', undefined],
    [6, 'codec id 6', undefined],
    [7, 'codec id 7', undefined],
  ];
  for (const [id, name, codec] of known) {
    const guarded = guardedCodec(name, codec);
    codecs[id] = () => guarded;
  }
}

function readBoundedHeaders(d: WireDecoder): WireHeader[] {
  const count = d.readVarInt();
  if (count <= 0) return [];
  const kept: WireHeader[] = [];
  let bytes = 0;
  let keptBytes = 0;
  let seen = 0;
  for (; seen < count && d.offset < d.buffer.length; seen++) {
    if (kept.length < MAX_HEADERS) {
      const header = HeaderDecoder(d) as WireHeader;
      const size = headerBytes(header.key ?? '', header.value ?? '');
      bytes += size;
      if (keptBytes + size <= MAX_HEADER_BYTES) {
        kept.push(header);
        keptBytes += size;
      }
    } else {
      // Skipped unread: past the bounds only the sizes matter.
      for (let part = 0; part < 2; part++) {
        const n = d.readVarInt();
        if (n > 0) {
          d.offset += n;
          bytes += n;
        }
      }
    }
  }
  if (seen <= MAX_HEADERS && bytes <= MAX_HEADER_BYTES) return kept;
  kept.push({ key: MARK_HEADER, value: mark({ kind: 'header-flood', headers: seen, bytes, kept: kept.length }) });
  return kept;
}

/** RecordBatch v2 header: firstOffset int64, length int32, ..., records count int32 at 57. */
const BATCH_HEADER_BYTES = 61;

function guardedCodec(name: string, codec: KafkaCodec | undefined): KafkaCodec {
  return {
    compress: async (encoder) => {
      if (!codec) throw new Error(`${name} is not a compression codec`);
      return codec.compress(encoder);
    },
    decompress: async (buffer) => {
      try {
        if (!codec) throw new Error(`${name} is not a compression codec`);
        return await codec.decompress(buffer);
      } catch (err) {
        const placeholders = placeholderRecords(buffer, name, err);
        if (placeholders === undefined) throw err;
        return placeholders;
      }
    },
  };
}

/**
 * The records of a batch that could not be decompressed, replaced by placeholders. kafkajs hands
 * a codec only the compressed bytes, but they are a view into the fetch response right after the
 * batch header, which gives the offsets and the record count; the layout is checked (magic byte,
 * batch length) before anything is trusted, and anything unexpected keeps the original error.
 */
function placeholderRecords(compressed: Buffer, codec: string, err: unknown): Buffer | undefined {
  const start = compressed.byteOffset - BATCH_HEADER_BYTES;
  if (start < 0) return undefined;
  const batch = Buffer.from(compressed.buffer, start, BATCH_HEADER_BYTES + compressed.length);
  if (batch.readInt8(16) !== 2 || batch.readInt32BE(8) + 12 !== batch.length) return undefined;
  const records = batch.readInt32BE(57);
  const lastOffsetDelta = batch.readInt32BE(23);
  if (records <= 0 || records > lastOffsetDelta + 1) return undefined;
  const first = batch.readBigInt64BE(0);
  const defect = {
    kind: 'undecodable-batch' as const,
    firstOffset: first.toString(),
    lastOffset: (first + BigInt(lastOffsetDelta)).toString(),
    records,
    codec,
    error: err instanceof Error ? err.message : String(err),
  };
  const parts: Buffer[] = [];
  for (let i = 0; i < records; i++) {
    const offsetDelta = i === records - 1 ? lastOffsetDelta : i;
    const record = Buffer.concat([
      Buffer.from([0, 0]), // attributes, timestamp delta 0
      varint(offsetDelta),
      varint(-1), // key: null
      ...(i === 0 ? [varint(batch.length), Buffer.from(batch)] : [varint(-1)]),
      varint(1), // one header: the mark
      varint(MARK_HEADER.length),
      Buffer.from(MARK_HEADER),
      ...((m: Buffer) => [varint(m.length), m])(mark({ ...defect, covered: i > 0 })),
    ]);
    parts.push(varint(record.length), record);
  }
  return Buffer.concat(parts);
}

/** Kafka's zig-zag varint. */
function varint(n: number): Buffer {
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  const bytes: number[] = [];
  while (z >= 0x80) {
    bytes.push((z % 0x80) | 0x80);
    z = Math.floor(z / 0x80);
  }
  bytes.push(z);
  return Buffer.from(bytes);
}
