/**
 * The one place that decides what a failure means, for the consumer, replay and the relay.
 *
 * - `transient`: a dependency is unavailable or overloaded (Postgres connection loss, shutdown,
 *   too many connections; broker unavailable, timeouts). Nothing is wrong with the messages:
 *   retry in place, never dead-letter.
 * - `conflict`: Postgres rolled the transaction back whole to break a deadlock or a serialization
 *   conflict with a concurrent writer. Retry soon; expected under concurrency.
 * - `poison`: anything else. It may be caused by a message (a value a store refuses, a stack
 *   overflow on hostile nesting, a record the broker will never accept), so the caller isolates
 *   it (bisect, dead-letter, park) instead of retrying it forever.
 *
 * Errors are recognised by duck typing (SQLSTATE `code`, TypeORM's `driverError`, Node's system
 * error codes, kafkajs's `name`/`retriable`/`type`), so this lib needs neither pg nor TypeORM.
 * Unknown errors count as poison on purpose: isolating a message costs one dead letter, while
 * retrying a poison message forever stalls every partition behind it. Where a dependency is
 * really down, the halves of a bisected slice fail as transient too and the slice is retried.
 */
export type FailureKind = 'transient' | 'conflict' | 'poison';

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  retriable?: unknown;
  type?: unknown;
  driverError?: unknown;
  cause?: unknown;
  originalError?: unknown;
}

/** SQLSTATE classes and codes that say Postgres (or the way to it) is unavailable, not that the data is bad. */
const PG_TRANSIENT_CLASSES = ['08', '53', '57P', '58'];
const PG_TRANSIENT_CODES = new Set(['55P03', '57014', '40003']);
const PG_CONFLICT_CODES = new Set(['40001', '40P01']);

const NODE_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
]);

/** Messages of pg and pg-pool errors that carry no code but mean the connection is gone or unavailable. */
const CONNECTION_MESSAGES = [
  /connection terminated/i,
  /terminating connection/i,
  /connection (?:is )?(?:closed|not established|ended)/i,
  /client has encountered a connection error/i,
  /timeout exceeded when trying to connect/i,
  /cannot use a pool after calling end/i,
  /the database system is (?:starting up|shutting down|in recovery mode)/i,
  /Query read timeout/i,
];

/** kafkajs errors that mean the broker or the way to it is unavailable. */
const KAFKA_TRANSIENT_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSStaleTopicMetadataAssignment',
  'KafkaJSLockTimeout',
  'KafkaJSTimeout',
  'KafkaJSGroupCoordinatorNotFound',
]);

/**
 * Broker refusals of the records themselves: resending the same records can never succeed.
 * The relay parks such an event; every other failure to publish is retried.
 */
const KAFKA_RECORD_REFUSALS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE', 'INVALID_TIMESTAMP']);

const asErrorLike = (err: unknown): ErrorLike | null => (err !== null && typeof err === 'object' ? err : null);

/** The error and the errors it wraps (TypeORM driverError, `cause`, kafkajs originalError), outermost first. */
function chain(err: unknown): ErrorLike[] {
  const out: ErrorLike[] = [];
  const seen = new Set<unknown>();
  let next: unknown = err;
  while (next !== undefined && next !== null && !seen.has(next) && out.length < 8) {
    seen.add(next);
    const e = asErrorLike(next);
    if (!e) break;
    out.push(e);
    next = e.driverError ?? e.cause ?? e.originalError;
  }
  return out;
}

function kindOf(e: ErrorLike): FailureKind | undefined {
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code !== undefined) {
    if (PG_CONFLICT_CODES.has(code)) return 'conflict';
    if (PG_TRANSIENT_CODES.has(code) || PG_TRANSIENT_CLASSES.some((c) => code.startsWith(c) && code.length === 5)) return 'transient';
    if (NODE_NETWORK_CODES.has(code)) return 'transient';
  }
  const name = typeof e.name === 'string' ? e.name : '';
  if (KAFKA_TRANSIENT_NAMES.has(name)) return 'transient';
  if (name.startsWith('KafkaJS')) {
    if (typeof e.type === 'string' && KAFKA_RECORD_REFUSALS.has(e.type)) return 'poison';
    if (e.retriable === true) return 'transient';
  }
  const message = typeof e.message === 'string' ? e.message : '';
  if (CONNECTION_MESSAGES.some((re) => re.test(message))) return 'transient';
  return undefined;
}

/** What `err` means for the work that failed; see the module comment. */
export function classifyFailure(err: unknown): FailureKind {
  const errors = chain(err);
  for (const e of errors) {
    const kind = kindOf(e);
    if (kind) return kind;
  }
  // kafkajs gave up retrying something it considered retriable: the broker is still unavailable.
  if (errors.some((e) => e.name === 'KafkaJSNumberOfRetriesExceeded')) return 'transient';
  return 'poison';
}

/** Postgres deadlock_detected (40P01) or serialization_failure (40001), raw or wrapped by TypeORM. */
export const isLockConflict = (err: unknown): boolean => classifyFailure(err) === 'conflict';

/** The broker refused the records themselves (too large, invalid): sending them again cannot succeed. */
export function isRecordRefused(err: unknown): boolean {
  return recordRefusal(err) !== undefined;
}

/**
 * The broker's refusal of the records, as `TYPE: message` (e.g. `MESSAGE_TOO_LARGE: The request
 * included a message larger than ...`), or undefined when `err` is not one. The broker's
 * messages name the limit, never the records' content.
 */
export function recordRefusal(err: unknown): string | undefined {
  const e = chain(err).find((x) => typeof x.type === 'string' && KAFKA_RECORD_REFUSALS.has(x.type));
  if (!e) return undefined;
  const message = typeof e.message === 'string' && e.message !== e.type ? `: ${e.message}` : '';
  return `${e.type as string}${message}`;
}
