/**
 * The service's topics on the configured brokers. Their names and partition counts come from
 * topicSpecs() and the TOPIC_* settings of the service itself (libs/messaging, libs/config): the
 * files, not the package barrels, which would load NestJS into a command that runs before any build.
 */
import { loadTopicsConfig } from '../../libs/config/src/topics-config';
import { topicSpecs, TopicSpec } from '../../libs/messaging/src/topic-specs';
import { ClientSecurity, clientSecurityFromEnv, withAdmin } from './kafka-admin';
import { fail, green, red, say, warn } from './output';
import { Env, kafkaBrokers } from './settings';

/** The service's topics as its environment names and sizes them (replication 1: a single local broker). */
export function serviceTopicSpecs(env: Env = process.env): TopicSpec[] {
  return topicSpecs({ topics: loadTopicsConfig(env) });
}

export interface EnsureTopicsResult {
  created: string[];
  /** Topics that were there already, with their partition count and the one the service wants. */
  existing: { topic: string; partitions: number; wanted: number }[];
}

/**
 * Creates the service's topics that don't exist yet (the broker never auto-creates).
 * Existing topics are left alone, whatever their partition count.
 */
export async function ensureTopics({
  brokers = kafkaBrokers(),
  topics = serviceTopicSpecs(),
  timeoutMs = 30_000,
  security = clientSecurityFromEnv(),
}: { brokers?: string[]; topics?: TopicSpec[]; timeoutMs?: number; security?: ClientSecurity } = {}): Promise<EnsureTopicsResult> {
  return withAdmin(
    brokers,
    async (admin) => {
      const present = new Set(await admin.listTopics());
      const missing = topics.filter((t) => !present.has(t.topic));
      const created: string[] = [];
      if (missing.length > 0) {
        try {
          await admin.createTopics({ topics: missing, waitForLeaders: true, timeout: timeoutMs });
          created.push(...missing.map((t) => t.topic));
        } catch (err) {
          // Someone else created some of them meanwhile: fine, as long as they all exist now.
          const nowPresent = new Set(await admin.listTopics());
          if (missing.some((t) => !nowPresent.has(t.topic))) throw err;
        }
      }
      const existingSpecs = topics.filter((t) => !created.includes(t.topic));
      const existing: EnsureTopicsResult['existing'] = [];
      if (existingSpecs.length > 0) {
        const { topics: meta } = await admin.fetchTopicMetadata({ topics: existingSpecs.map((t) => t.topic) });
        for (const spec of existingSpecs) {
          const m = meta.find((x) => x.name === spec.topic);
          existing.push({ topic: spec.topic, partitions: m ? m.partitions.length : 0, wanted: spec.numPartitions });
        }
      }
      return { created, existing };
    },
    { timeoutMs, security },
  );
}

export async function topicsUp(): Promise<void> {
  const { created, existing } = await ensureTopics();
  const parts = [`created ${created.length}${created.length ? ` (${created.join(', ')})` : ''}`];
  if (existing.length) parts.push(`${existing.length} already present`);
  say('topics', parts.join(', '));
  for (const e of existing.filter((x) => x.partitions !== x.wanted)) {
    warn('topics', `${e.topic} has ${e.partitions} partitions (wanted ${e.wanted}); left as is`);
  }
}

export async function topicsStatus(): Promise<boolean> {
  try {
    const specs = serviceTopicSpecs();
    return await withAdmin(
      kafkaBrokers(),
      async (admin) => {
        const present = new Set(await admin.listTopics());
        const have = specs.filter((t) => present.has(t.topic));
        const meta = have.length ? (await admin.fetchTopicMetadata({ topics: have.map((t) => t.topic) })).topics : [];
        const missing = specs.filter((t) => !present.has(t.topic)).map((t) => t.topic);
        const list = specs.map((t) => {
          const m = meta.find((x) => x.name === t.topic);
          return m ? `${t.topic}(${m.partitions.length})` : `${t.topic}(${red('missing')})`;
        });
        (missing.length ? fail : say)('topics', `${missing.length ? `${missing.length} MISSING` : green('all present')}: ${list.join(' ')}`);
        return missing.length === 0;
      },
      { security: clientSecurityFromEnv() },
    );
  } catch (err) {
    fail('topics', `cannot list topics (${err instanceof Error ? err.message : String(err)})`);
    return false;
  }
}
