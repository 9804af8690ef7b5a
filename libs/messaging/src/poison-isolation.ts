import type { KafkaMessage } from 'kafkajs';
import { ClockPolicy, DeadLetterStage, decodeMessage, InputEvent, TopicNames } from '@app/contracts';
import { classifyFailure } from './failure-classification';
import { wireDefectOf, wireDefectReason } from './record-decoding';

export type ApplyOutcome = 'applied' | 'duplicate' | 'noop';

/**
 * Applies decoded events in one transaction, all or nothing; one outcome per event, in order, and
 * optionally which duplicates conflict (same source and id as an event processed before, other content).
 */
export type ApplyPort = (events: InputEvent[]) => Promise<{ outcomes: ApplyOutcome[]; conflicting?: readonly boolean[] }>;

/** One message of a slice, as read from Kafka. */
export interface SliceMessage {
  /** Where it was read: the origin a dead letter names. */
  topic: string;
  partition: number;
  message: Pick<KafkaMessage, 'key' | 'value' | 'headers' | 'offset'>;
  /** The topic whose contract it is decoded against, when not `topic` (a replay of the dead-letter topic). */
  decodeAs?: string;
}

/**
 * What became of one message: an apply outcome (with, for a conflicting duplicate, the event it
 * reused the id of), or refused with the stage and the reason.
 */
export type MessageResult = { outcome: ApplyOutcome; conflict?: { source: string; id: string } } | { outcome: 'refused'; stage: DeadLetterStage; reason: string };

export interface RefusedMessage {
  item: SliceMessage;
  stage: DeadLetterStage;
  reason: string;
}

export interface IsolationHooks {
  /** Called for each transaction that failed as poison while a slice is being bisected. */
  onPoison?: (err: unknown, messages: number) => void;
  /**
   * Awaited before each transaction after the first: a bisection runs several in a row, and a
   * consumer must heartbeat meanwhile or lose its partitions (and bisect the slice again, forever).
   * What it throws is thrown by `run`.
   */
  beforeRetry?: () => Promise<void>;
}

/**
 * A one-line reason for a dead letter: the error's message and, for Postgres, its SQLSTATE.
 * Only the message: driver errors also carry the query's parameters (personal data), which
 * never go into a header or a log.
 */
export function failureReason(err: unknown): string {
  const e = err as { message?: unknown; code?: unknown; driverError?: { code?: unknown } } | null;
  const message = typeof e?.message === 'string' && e.message !== '' ? e.message : String(err);
  const code = e?.driverError?.code ?? e?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? `${message} (SQLSTATE ${code})` : message;
}

interface Part {
  /** Indexes into the slice. */
  indexes: number[];
  /** Its messages already failed as poison in a bigger part (or alone, once). */
  failedBefore: boolean;
}

/**
 * Decodes and applies one slice so that no message can hold it up for good:
 *
 * - a message that breaks the contract (or makes decoding throw) is refused at `decode`;
 * - the others are applied in one transaction; when it fails as poison (see
 *   failure-classification.ts), the slice is bisected: each half is applied in its own
 *   transaction, recursively, until the failing message is alone. A lone message that failed as
 *   poison again is refused at `apply` with its error; the rest is applied;
 * - a lone message gets a second try only if it has not already failed in a bigger part, so
 *   every refusal rests on at least two failed transactions: one unrecognised hiccup cannot
 *   dead-letter a good message, and a bad one costs one transaction more, not a stall;
 * - a transient or conflict failure, at any depth, is thrown: the caller retries in place.
 *   What was committed stays committed, and calling `run` again resumes with the part that
 *   failed, so a retry neither re-applies the applied halves nor forgets the refused ones.
 *
 * The consumer dead-letters what is refused; a replay reports it.
 */
export class PoisonIsolatingSlice {
  private readonly results: (MessageResult | undefined)[];
  private readonly events: (InputEvent | undefined)[];
  /** Parts still to apply; the last one is next. */
  private readonly pending: Part[] = [];

  constructor(
    private readonly items: readonly SliceMessage[],
    topics: TopicNames,
    private readonly apply: ApplyPort,
    private readonly hooks: IsolationHooks = {},
    /** MAX_FUTURE_SKEW_MS: events further ahead of the clock are refused. Absent = no bound. */
    maxFutureSkewMs?: number,
  ) {
    this.results = items.map(() => undefined);
    const clock = maxFutureSkewMs === undefined ? undefined : { nowMs: Date.now(), maxFutureSkewMs };
    this.events = items.map((item, i) => {
      const defect = wireDefectOf(item.message);
      if (defect?.kind === 'undecodable-batch' && defect.covered) {
        // Stands for a record of a batch whose first placeholder's dead letter names the range.
        this.results[i] = { outcome: 'noop' };
        return undefined;
      }
      if (defect) {
        this.results[i] = { outcome: 'refused', stage: 'decode', reason: wireDefectReason(defect) };
        return undefined;
      }
      const decoded = decodeSafely(item, topics, clock);
      if (decoded.ok) return decoded.event;
      this.results[i] = { outcome: 'refused', stage: 'decode', reason: decoded.reason };
      return undefined;
    });
    const toApply = this.events.flatMap((e, i) => (e ? [i] : []));
    if (toApply.length > 0) this.pending.push({ indexes: toApply, failedBefore: false });
  }

  /**
   * Applies what is left; resolves with one result per message once each has one. Throws on a
   * transient or conflict failure (nothing of the failed part committed); call again to go on.
   */
  async run(): Promise<MessageResult[]> {
    let attempts = 0;
    while (this.pending.length > 0) {
      const part = this.pending[this.pending.length - 1];
      if (attempts++ > 0) await this.hooks.beforeRetry?.();
      try {
        const { outcomes, conflicting } = await this.apply(part.indexes.map((i) => this.events[i]!));
        part.indexes.forEach((i, k) => {
          const e = this.events[i]!;
          this.results[i] = conflicting?.[k] ? { outcome: outcomes[k], conflict: { source: e.source, id: e.id } } : { outcome: outcomes[k] };
        });
        this.pending.pop();
      } catch (err) {
        if (classifyFailure(err) !== 'poison') throw err;
        this.hooks.onPoison?.(err, part.indexes.length);
        this.pending.pop();
        if (part.indexes.length === 1 && part.failedBefore) {
          this.results[part.indexes[0]] = { outcome: 'refused', stage: 'apply', reason: `refused when applied: ${failureReason(err)}` };
        } else if (part.indexes.length === 1) {
          this.pending.push({ indexes: part.indexes, failedBefore: true });
        } else {
          const mid = Math.ceil(part.indexes.length / 2);
          // Pushed in reverse so that the first half goes first.
          this.pending.push({ indexes: part.indexes.slice(mid), failedBefore: true });
          this.pending.push({ indexes: part.indexes.slice(0, mid), failedBefore: true });
        }
      }
    }
    return this.results.map((r) => r!);
  }

  /** The refused messages with their stage and reason (complete once `run` has resolved). */
  refused(): RefusedMessage[] {
    return this.results.flatMap((r, i) => (r?.outcome === 'refused' ? [{ item: this.items[i], stage: r.stage, reason: r.reason }] : []));
  }
}

/** decodeMessage, except that a throw (e.g. a stack overflow on hostile nesting) refuses the message too. */
function decodeSafely(item: SliceMessage, topics: TopicNames, clock: ClockPolicy | undefined): { ok: true; event: InputEvent } | { ok: false; reason: string } {
  const { message } = item;
  try {
    return decodeMessage({ topic: item.decodeAs ?? item.topic, key: message.key, value: message.value, headers: message.headers ?? {} }, topics, clock);
  } catch (err) {
    return { ok: false, reason: `cannot be decoded: ${failureReason(err)}` };
  }
}
