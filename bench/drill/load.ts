/**
 * The drill's offered load: an endless synthetic workload at a fixed rate, with poison messages
 * mixed in. A send that fails (broker away) is kept and sent again until it lands, so nothing
 * the drill means to produce is dropped; a resend after an ambiguous failure may store a
 * message twice, which the checks allow (they read the log back from the topics).
 */
import { Kafka, Message, Producer } from 'kafkajs';
import type { AppConfig } from '@app/config';
import { events, InputMessage, syntheticWorkload } from '@app/workload';

/** Every poison message's key: the checks find them in the log by it. */
export const POISON_KEY_PREFIX = 'drill-poison-';

interface Outgoing {
  topic: string;
  message: Message;
}

/** The kinds of bad input a producer can send; each must end in the DLQ, untouched. */
function poison(n: number, topics: AppConfig['topics']): Outgoing {
  const key = `${POISON_KEY_PREFIX}${n}`;
  const time = new Date().toISOString();
  const kinds: (() => Outgoing)[] = [
    () => ({ topic: topics.memberships, message: { key, value: `not json ${n}` } }),
    () => ({ topic: topics.users, message: { key, value: null } }), // a tombstone: not a CloudEvent
    () => ({
      topic: topics.courses,
      message: { key, value: JSON.stringify({ specversion: '1.0', id: key, source: '/drill', type: 'lms.course.renamed', time, data: {} }) },
    }),
    () => {
      const ok = events.lessonUpserted(1, { id: 101, section_id: 11, name: 'Bad', status: 'published', position: 1 }, { time, id: key, source: '/drill' });
      return { topic: topics.courses, message: { key, value: ok.value.replace('"status":"published"', '"status":"live"') } };
    },
    () => {
      const ok = events.lessonCompleted({ course_id: 1, lesson_id: 101, user_id: 1, time_spent_seconds: 5 }, { time, id: key, source: '/drill' });
      const { id: _id, ...noId } = JSON.parse(ok.value) as Record<string, unknown>;
      return { topic: topics.lessonProgress, message: { key, value: JSON.stringify(noId) } };
    },
  ];
  return kinds[n % kinds.length]();
}

export interface LoadOptions {
  rate: number;
  courses: number;
  users: number;
  seed: number;
  /** One poison message per this many events. */
  poisonEvery: number;
}

export class LoadProducer {
  /** Valid events handed to Kafka, as `source id` (sends still retrying included). */
  readonly producedIds: string[] = [];
  readonly poisonKeys: string[] = [];
  sent = 0;
  failedSends = 0;
  lastError = '';
  private readonly workload: Generator<InputMessage>;
  private readonly producer: Producer;
  private readonly backlog: Outgoing[] = [];
  private active = false;
  private loop?: Promise<void>;
  private offered = 0;
  private windowStart = 0;
  private windowOffered = 0;

  constructor(
    kafka: Kafka,
    private readonly config: AppConfig,
    private readonly opts: LoadOptions,
  ) {
    this.workload = syntheticWorkload({ events: Number.MAX_SAFE_INTEGER, courses: opts.courses, users: opts.users, seed: opts.seed, source: '/drill' });
    this.producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
  }

  async connect(): Promise<void> {
    await this.producer.connect();
  }

  /** Starts (or resumes) offering `rate` events per second. */
  start(): void {
    if (this.active) return;
    this.active = true;
    this.windowStart = performance.now();
    this.windowOffered = 0;
    this.loop = this.run();
  }

  /** Stops offering new events and waits until everything offered has been sent. */
  async stop(timeoutMs = 600_000): Promise<void> {
    this.active = false;
    await this.loop;
    const deadline = performance.now() + timeoutMs;
    while (this.backlog.length > 0) {
      if (performance.now() > deadline) throw new Error(`${this.backlog.length} messages still unsent after ${timeoutMs / 1000} s: ${this.lastError}`);
      await this.flush();
    }
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect().catch(() => undefined);
  }

  get pending(): number {
    return this.backlog.length;
  }

  private next(): Outgoing {
    this.offered++;
    if (this.offered % this.opts.poisonEvery === 0) {
      const p = poison(this.poisonKeys.length, this.config.topics);
      this.poisonKeys.push(String(p.message.key));
      return p;
    }
    const m = this.workload.next().value as InputMessage;
    const { id, source } = JSON.parse(m.value) as { id: string; source: string };
    this.producedIds.push(`${source} ${id}`);
    return { topic: this.config.topics[m.topic], message: { key: m.key, value: m.value } };
  }

  private async run(): Promise<void> {
    while (this.active) {
      const due = Math.floor(((performance.now() - this.windowStart) / 1000) * this.opts.rate) - this.windowOffered;
      for (let i = 0; i < due; i++) this.backlog.push(this.next());
      this.windowOffered += Math.max(0, due);
      await this.flush();
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Sends the backlog in batches; on failure keeps it and pauses briefly. */
  private async flush(): Promise<void> {
    while (this.backlog.length > 0) {
      const batch = this.backlog.slice(0, 500);
      const byTopic = new Map<string, Message[]>();
      for (const o of batch) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o.message]);
      try {
        await this.producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
        this.backlog.splice(0, batch.length);
        this.sent += batch.length;
      } catch (err) {
        this.failedSends++;
        this.lastError = (err as Error).message;
        await new Promise((r) => setTimeout(r, 500));
        return;
      }
    }
  }
}
