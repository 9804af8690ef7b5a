import { CompressionTypes } from 'kafkajs';
import { MAX_HEADER_BYTES, MAX_HEADERS } from '@app/contracts';
import { zstdCodec } from './compression-codecs';
import { installKafkaRecordDecoding, wireDefectOf, wireDefectReason, withoutWireMark } from './record-decoding';

/* eslint-disable @typescript-eslint/no-require-imports -- kafkajs's own encoders and decoders, to test against its wire format */
type Encoded = { buffer: Buffer };
const Decoder = require('kafkajs/src/protocol/decoder') as new (b: Buffer) => { readVarIntBytes(): Buffer };
const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (r: object) => Encoded;
const RecordDecoder = require('kafkajs/src/protocol/recordBatch/record/v0/decoder') as (d: unknown, ctx: object) => DecodedRecord;
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as { RecordBatch: (b: object) => Promise<Encoded> };
const RecordBatchDecoder = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (d: unknown) => Promise<{ records: DecodedRecord[] }>;
/* eslint-enable @typescript-eslint/no-require-imports */
interface DecodedRecord {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | Buffer[]>;
}

installKafkaRecordDecoding();

/** One record as kafkajs encodes it (length-prefixed), decoded as a fetch decodes it. */
const decodeRecord = (headers: Record<string, string>) => {
  const framed = new Decoder(Record({ key: Buffer.from('k'), value: Buffer.from('v'), headers }).buffer);
  return RecordDecoder(new Decoder(framed.readVarIntBytes()), { firstOffset: '0', firstTimestamp: '0' });
};
const many = (count: number, value = 'v') => Object.fromEntries(Array.from({ length: count }, (_, i) => [`x-h${i}`, value]));

describe('kafkajs record decoding with the contract bounds', () => {
  it('a message within the bounds keeps every header and has no defect', () => {
    const r = decodeRecord(many(MAX_HEADERS));
    expect(Object.keys(r.headers)).toHaveLength(MAX_HEADERS);
    expect(wireDefectOf(r)).toBeUndefined();
  });

  it('20,000 headers: the first 64 are kept, the rest skipped unread, and the message is marked', () => {
    const r = decodeRecord(many(20_000));
    const defect = wireDefectOf(r);
    expect(defect).toEqual({ kind: 'header-flood', headers: 20_000, bytes: expect.any(Number), kept: MAX_HEADERS });
    expect(r.value!.toString()).toBe('v');
    const copy = withoutWireMark(r.headers);
    expect(Object.keys(copy)).toEqual(Array.from({ length: MAX_HEADERS }, (_, i) => `x-h${i}`));
    expect(wireDefectReason(defect!)).toMatch(/20000 headers holding \d+ bytes, over the limits of 64 headers and 65536 bytes; this copy keeps the first 64/);
  });

  it('a few headers over the byte bound: those that fit are kept, and the message is marked', () => {
    const r = decodeRecord(many(3, 'x'.repeat(MAX_HEADER_BYTES / 2)));
    expect(wireDefectOf(r)).toMatchObject({ kind: 'header-flood', headers: 3, kept: 1 });
    expect(Object.keys(withoutWireMark(r.headers))).toEqual(['x-h0']);
  });

  it('a mark written by an upstream is not a defect, and is kept as its header', () => {
    const r = decodeRecord({ 'enrollment-sync-wire-defect': '{"kind":"header-flood"}' });
    expect(wireDefectOf(r)).toBeUndefined();
    expect(withoutWireMark(r.headers)['enrollment-sync-wire-defect']?.toString()).toBe('{"kind":"header-flood"}');
  });

  it('a batch that cannot be decompressed becomes placeholders with its offsets, the first carrying the batch', async () => {
    const records = [0, 1, 2].map((i) => Record({ offsetDelta: i, key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`) }));
    const encoded = await RecordBatch({ compression: CompressionTypes.ZSTD, firstOffset: 40n, lastOffsetDelta: 2, records });
    const decompress = zstdCodec.decompress;
    zstdCodec.decompress = () => Promise.reject(new Error('broken frame'));
    try {
      const { records: decoded } = await RecordBatchDecoder(new Decoder(encoded.buffer));
      expect(decoded.map((r) => r.offset)).toEqual(['40', '41', '42']);
      const defects = decoded.map((r) => wireDefectOf(r));
      expect(defects.map((d) => d?.kind === 'undecodable-batch' && d.covered)).toEqual([false, true, true]);
      expect(defects[0]).toMatchObject({ firstOffset: '40', lastOffset: '42', records: 3, codec: 'zstd', error: 'broken frame' });
      expect(decoded[0].value!.equals(encoded.buffer)).toBe(true);
      expect(decoded[1].value).toBeNull();
      expect(wireDefectReason(defects[0]!)).toMatch(/record batch at offsets 40-42 \(3 records, zstd\) could not be decoded: broken frame/);
    } finally {
      zstdCodec.decompress = decompress;
    }
  });

  it('the same batch decodes to its records when the codec works', async () => {
    const records = [0, 1].map((i) => Record({ offsetDelta: i, key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`) }));
    const encoded = await RecordBatch({ compression: CompressionTypes.ZSTD, firstOffset: 7n, lastOffsetDelta: 1, records });
    const { records: decoded } = await RecordBatchDecoder(new Decoder(encoded.buffer));
    expect(decoded.map((r) => [r.offset, r.value!.toString(), wireDefectOf(r)])).toEqual([
      ['7', 'v0', undefined],
      ['8', 'v1', undefined],
    ]);
  });
});
