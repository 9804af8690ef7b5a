import type { HeaderValue } from './envelope';

/**
 * Dead letters (`lms.enrollment-sync.dlq.v1`): the input message copied unchanged — key, value
 * and headers — plus five headers saying why, at which stage and where it came from.
 */
export const DLQ_HEADERS = {
  reason: 'dlq_reason',
  stage: 'dlq_stage',
  topic: 'dlq_topic',
  partition: 'dlq_partition',
  offset: 'dlq_offset',
} as const;

/**
 * Where a message was found unusable: `decode` = it breaks the contract (or cannot be decoded at
 * all); `apply` = it passed the contract but the store refused it, alone, in its own transaction.
 */
export type DeadLetterStage = 'decode' | 'apply';

/**
 * Present only on a dead letter too big for the dead-letter topic: the value (and, if the key
 * and headers alone do not fit, the key, with the original headers dropped) was cut to fit, and
 * this header holds the original value's size in bytes, in decimal.
 */
export const DLQ_TRUNCATED_HEADER = 'dlq_truncated';

/** Reasons are human-readable one-liners; this bounds them so a header never balloons. */
export const MAX_DLQ_REASON_CHARS = 1000;

export interface DeadLetterOrigin {
  topic: string;
  partition: number;
  /** Kafka offsets are 64-bit: kept as the decimal string kafkajs gives. */
  offset: string;
}

export interface DeadLetterMessage {
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | string | (Buffer | string)[]>;
}

/**
 * The message to produce on the dead-letter topic. Original headers are kept as they were;
 * `dlq_*` headers of a message that was already dead-lettered once are replaced.
 */
export function deadLetterMessage(
  msg: { key: Buffer | null; value: Buffer | null; headers?: Record<string, HeaderValue> },
  origin: DeadLetterOrigin,
  reason: string,
  stage: DeadLetterStage = 'decode',
): DeadLetterMessage {
  const headers: DeadLetterMessage['headers'] = {};
  const dlqNames = new Set<string>([...Object.values(DLQ_HEADERS), DLQ_TRUNCATED_HEADER]);
  for (const [name, value] of Object.entries(msg.headers ?? {})) {
    if (value !== undefined && !dlqNames.has(name)) headers[name] = value;
  }
  headers[DLQ_HEADERS.reason] = boundedReason(reason);
  headers[DLQ_HEADERS.stage] = stage;
  headers[DLQ_HEADERS.topic] = origin.topic;
  headers[DLQ_HEADERS.partition] = String(origin.partition);
  headers[DLQ_HEADERS.offset] = origin.offset;
  return { key: msg.key, value: msg.value, headers };
}

/** The reason cut to `MAX_DLQ_REASON_CHARS`, never between the two halves of a surrogate pair. */
function boundedReason(reason: string): string {
  if (reason.length <= MAX_DLQ_REASON_CHARS) return reason;
  let end = MAX_DLQ_REASON_CHARS - 1;
  const last = reason.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${reason.slice(0, end)}…`;
}
