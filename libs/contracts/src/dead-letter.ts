import { headerBytes, HeaderValue, MAX_HEADER_BYTES, MAX_HEADERS } from './envelope';

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

/**
 * Present only on a dead letter of a message that broke the header bounds (MAX_HEADERS,
 * MAX_HEADER_BYTES): the copy keeps the headers that fit the bounds, and this header holds how
 * many were dropped, in decimal.
 */
export const DLQ_HEADERS_DROPPED_HEADER = 'dlq_headers_dropped';

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
 * `dlq_*` headers of a message that was already dead-lettered once are replaced. The copy stays
 * within the header bounds (MAX_HEADERS, MAX_HEADER_BYTES) so that it can be read, and replayed,
 * like any input: when the original headers and the `dlq_*` ones together would break them, the
 * first original headers that fit are kept and `dlq_headers_dropped` counts the others, with
 * `droppedBefore` (those the decoder already left out).
 */
export function deadLetterMessage(
  msg: { key: Buffer | null; value: Buffer | null; headers?: Record<string, HeaderValue> },
  origin: DeadLetterOrigin,
  reason: string,
  stage: DeadLetterStage = 'decode',
  droppedBefore = 0,
): DeadLetterMessage {
  const added: DeadLetterMessage['headers'] = {
    [DLQ_HEADERS.reason]: boundedReason(reason),
    [DLQ_HEADERS.stage]: stage,
    [DLQ_HEADERS.topic]: origin.topic,
    [DLQ_HEADERS.partition]: String(origin.partition),
    [DLQ_HEADERS.offset]: origin.offset,
  };
  const dlqNames = new Set<string>([...Object.values(DLQ_HEADERS), DLQ_TRUNCATED_HEADER, DLQ_HEADERS_DROPPED_HEADER]);
  const original: [string, Buffer | string][] = [];
  for (const [name, value] of Object.entries(msg.headers ?? {})) {
    if (value === undefined || dlqNames.has(name)) continue;
    for (const one of Array.isArray(value) ? value : [value]) original.push([name, one]);
  }
  // Room for the added headers, dlq_headers_dropped and dlq_truncated (fitDeadLetter may add it).
  let count = Object.keys(added).length + 2;
  let bytes = Object.entries(added).reduce((n, [name, v]) => n + headerBytes(name, v as string), 0) + 64;
  const headers: DeadLetterMessage['headers'] = {};
  let dropped = droppedBefore;
  for (const [name, one] of original) {
    if (count + 1 > MAX_HEADERS || bytes + headerBytes(name, one) > MAX_HEADER_BYTES) {
      dropped++;
      continue;
    }
    count++;
    bytes += headerBytes(name, one);
    const had = headers[name];
    headers[name] = had === undefined ? one : Array.isArray(had) ? [...had, one] : [had, one];
  }
  Object.assign(headers, added);
  if (dropped > 0) headers[DLQ_HEADERS_DROPPED_HEADER] = String(dropped);
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
