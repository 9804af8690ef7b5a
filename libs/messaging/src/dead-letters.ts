import { ConfigResourceTypes, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { DeadLetterMessage, deadLetterMessage, DeadLetterStage, DLQ_HEADERS, DLQ_HEADERS_DROPPED_HEADER, DLQ_TRUNCATED_HEADER } from '@app/contracts';
import { isRecordRefused } from './failure-classification';
import { wireDefectOf, withoutWireMark } from './record-decoding';

export interface DeadLetter {
  topic: string;
  partition: number;
  message: Pick<KafkaMessage, 'key' | 'value' | 'headers' | 'offset'>;
  reason: string;
  /** Default `decode`. */
  stage?: DeadLetterStage;
}

/** The broker's default `max.message.bytes`, used when the topic's own cannot be read. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

/**
 * Room kept for what the estimate below does not count: the record batch header (61 bytes),
 * varint lengths and attributes of each record, and a safety margin against a wrong guess.
 */
const BATCH_OVERHEAD_BYTES = 1024;
const RECORD_OVERHEAD_BYTES = 64;
const HEADER_OVERHEAD_BYTES = 16;
/** Below this budget a record refusal is not a size problem: give up instead of shrinking further. */
const MIN_BUDGET_BYTES = 16 * 1024;

const bytes = (v: Buffer | string | null | undefined): number => (v == null ? 0 : Buffer.isBuffer(v) ? v.length : Buffer.byteLength(v));

/** An upper estimate of a record's size in an uncompressed batch. */
export function recordBytes(m: DeadLetterMessage): number {
  let n = RECORD_OVERHEAD_BYTES + bytes(m.key) + bytes(m.value);
  for (const [name, value] of Object.entries(m.headers)) {
    for (const v of Array.isArray(value) ? value : [value]) n += HEADER_OVERHEAD_BYTES + Buffer.byteLength(name) + bytes(v);
  }
  return n;
}

/**
 * The dead letter cut to at most `budget` bytes: the value first; if the key and headers alone
 * do not fit, the original headers are dropped (the dlq_* ones stay) and the key is cut too.
 * `dlq_truncated` holds the original value's size. A letter that fits is returned as it is.
 */
export function fitDeadLetter(m: DeadLetterMessage, budget: number): DeadLetterMessage {
  if (recordBytes(m) <= budget) return m;
  const value = m.value ?? Buffer.alloc(0);
  const marked = { ...m.headers, [DLQ_TRUNCATED_HEADER]: String(value.length) };
  const room = budget - recordBytes({ key: m.key, value: null, headers: marked });
  if (room >= 0) return { key: m.key, value: value.subarray(0, room), headers: marked };
  const dlqNames = new Set<string>([...Object.values(DLQ_HEADERS), DLQ_TRUNCATED_HEADER, DLQ_HEADERS_DROPPED_HEADER]);
  const headers = Object.fromEntries(Object.entries(marked).filter(([name]) => dlqNames.has(name)));
  const left = Math.max(0, budget - recordBytes({ key: null, value: null, headers }));
  const key = m.key ? m.key.subarray(0, Math.min(m.key.length, Math.floor(left / 2))) : null;
  return { key, value: value.subarray(0, left - bytes(key)), headers };
}

/** The letters from `start` whose estimated sizes add up to at most `budget` (one letter at least). */
function chunkFrom(letters: readonly DeadLetterMessage[], start: number, budget: number): DeadLetterMessage[] {
  let end = start + 1;
  let size = recordBytes(letters[start]);
  while (end < letters.length && size + recordBytes(letters[end]) <= budget) size += recordBytes(letters[end++]);
  return letters.slice(start, end);
}

/**
 * Produces dead letters (format: `deadLetterMessage` in the contracts lib). `send` resolves only
 * once the broker has the copies (acks from all in-sync replicas), so an offset is never
 * committed past a message that is neither applied nor dead-lettered.
 *
 * Any set of dead letters goes out: sends are split so that each request's records stay under
 * the topic's `max.message.bytes` (read from the broker by `readTopicLimit`, else 1 MiB), and a
 * letter bigger than that on its own is truncated to fit and marked (`fitDeadLetter`), never
 * dropped. Should the broker still refuse a request as too large (the limit lowered since it
 * was read), the budget is halved and the rest is sent again.
 */
export class DeadLetterPublisher {
  private maxMessageBytes: number;

  constructor(
    private readonly producer: Producer,
    private readonly dlqTopic: string,
    maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES,
  ) {
    this.maxMessageBytes = maxMessageBytes;
  }

  /** The limit sends are cut to, in bytes. */
  get limitBytes(): number {
    return this.maxMessageBytes;
  }

  /**
   * Reads the dead-letter topic's `max.message.bytes` from the broker. Keeps the current limit
   * (1 MiB unless given) when it cannot be read; resolves with the limit in force.
   */
  async readTopicLimit(kafka: Kafka): Promise<number> {
    const admin = kafka.admin();
    try {
      await admin.connect();
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: this.dlqTopic, configNames: ['max.message.bytes'] }],
      });
      const value = Number(resources[0]?.configEntries.find((e) => e.configName === 'max.message.bytes')?.configValue);
      if (Number.isSafeInteger(value) && value > 0) this.maxMessageBytes = value;
    } catch {
      // The fallback is safe: a smaller limit only means more, smaller requests.
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    return this.maxMessageBytes;
  }

  async send(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const messages = letters.map((l) => {
      const defect = wireDefectOf(l.message);
      return deadLetterMessage(
        { key: l.message.key, value: l.message.value, headers: withoutWireMark(l.message.headers) },
        { topic: l.topic, partition: l.partition, offset: l.message.offset },
        l.reason,
        l.stage,
        defect?.kind === 'header-flood' ? defect.headers - defect.kept : 0,
      );
    });
    let budget = this.maxMessageBytes - BATCH_OVERHEAD_BYTES;
    let fitted = messages.map((m) => fitDeadLetter(m, budget));
    for (let sent = 0; sent < fitted.length;) {
      const chunk = chunkFrom(fitted, sent, budget);
      try {
        await this.producer.send({ topic: this.dlqTopic, acks: -1, messages: chunk });
        sent += chunk.length;
      } catch (err) {
        if (!isRecordRefused(err) || budget / 2 < MIN_BUDGET_BYTES) throw err;
        // The same letters again in smaller requests (a copy that did land is at-least-once).
        budget = Math.floor(budget / 2);
        fitted = messages.map((m) => fitDeadLetter(m, budget));
      }
    }
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}
