import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';
import { Admin, Kafka } from 'kafkajs';
import { APP_CONFIG, AppConfig, inputTopics } from '@app/config';
import { redisTlsOptions } from '@app/jobs';
import { DatabaseHealthRepository } from '@app/persistence';

export interface CheckResult {
  ok: boolean;
  detail?: string;
}

/** The sync worker's consumer group as Kafka reports it; informational, never a readiness condition. */
export interface ConsumerGroupReport {
  group: string;
  state?: string;
  members?: number;
  /** Messages of the input topics not yet committed by the group; null when unknown. */
  lag?: number | null;
  detail?: string;
}

const withTimeout = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms).unref())]);

/** Probes of each dependency for /health/ready; each answers within two seconds or counts as down. */
@Injectable()
export class DependencyChecks implements OnModuleDestroy {
  private admin?: Admin;
  private adminReady?: Promise<Admin>;
  private readonly redis: Redis;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly databases: DatabaseHealthRepository,
    private readonly kafka: Kafka,
  ) {
    this.redis = new Redis(config.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, ...redisTlsOptions(config.redis) });
    this.redis.on('error', () => undefined); // reported through the probe, not as a crash
  }

  /** DATABASE_URL: the write horizon of every list page is read there. */
  async postgres(): Promise<CheckResult> {
    return this.probe(() => this.databases.pingPrimary(), 'postgres');
  }

  /** DATABASE_READ_URL (DATABASE_URL when unset): the lists and views are read there. */
  async postgresRead(): Promise<CheckResult> {
    return this.probe(() => this.databases.pingReader(), 'postgres_read');
  }

  async redisPing(): Promise<CheckResult> {
    return this.probe(async () => {
      if (this.redis.status === 'wait' || this.redis.status === 'end') await this.redis.connect();
      await this.redis.ping();
    }, 'redis');
  }

  async kafkaBroker(): Promise<CheckResult> {
    return this.probe(async () => {
      await (await this.kafkaAdmin()).describeCluster();
    }, 'kafka');
  }

  /**
   * The sync worker's consumer group: state, members and total lag on the input topics. Reported
   * in the readiness body only: a rebalance or a stopped worker must not take the API's reads,
   * which come from Postgres alone, out of service.
   */
  async consumerGroup(): Promise<ConsumerGroupReport> {
    const group = this.config.kafka.groupId;
    try {
      return await withTimeout(
        (async () => {
          const admin = await this.kafkaAdmin();
          const { groups } = await admin.describeGroups([group]);
          const g = groups[0];
          return { group, state: g?.state ?? 'Unknown', members: g?.members.length ?? 0, lag: await this.lag(admin, group) };
        })(),
        2000,
        'consumer group',
      );
    } catch (err) {
      await this.dropAdmin();
      return { group, detail: (err as Error).message };
    }
  }

  /** Sum over the input topics' partitions of (end offset − committed offset); null when not all are known. */
  private async lag(admin: Admin, group: string): Promise<number | null> {
    try {
      const topics = inputTopics(this.config);
      const committed = await admin.fetchOffsets({ groupId: group, topics });
      const ends = await Promise.all(topics.map(async (t) => [t, await admin.fetchTopicOffsets(t)] as const));
      let lag = 0;
      for (const [topic, partitions] of ends) {
        const done = committed.find((c) => c.topic === topic)?.partitions ?? [];
        for (const p of partitions) {
          const c = Number(done.find((d) => d.partition === p.partition)?.offset ?? '-1');
          const high = Number(p.high);
          lag += c < 0 ? high - Number(p.low) : Math.max(0, high - c);
        }
      }
      return lag;
    } catch {
      return null;
    }
  }

  /** One admin client, shared by the probes that run side by side. */
  private kafkaAdmin(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      this.admin = admin;
      this.adminReady = admin.connect().then(() => admin);
    }
    return this.adminReady!;
  }

  private async probe(fn: () => Promise<void>, what: string): Promise<CheckResult> {
    try {
      await withTimeout(fn(), 2000, what);
      return { ok: true };
    } catch (err) {
      if (what === 'kafka') await this.dropAdmin();
      return { ok: false, detail: (err as Error).message };
    }
  }

  /** A failed admin client is replaced on the next probe rather than reused. */
  private async dropAdmin(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    this.adminReady = undefined;
    await admin?.disconnect().catch(() => undefined);
  }

  async onModuleDestroy(): Promise<void> {
    await this.admin?.disconnect().catch(() => undefined);
    this.redis.disconnect();
  }
}
