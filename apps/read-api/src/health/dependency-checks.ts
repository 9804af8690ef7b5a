import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';
import { Admin, Kafka } from 'kafkajs';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/config';
import { redisTlsOptions } from '@app/jobs';

export interface CheckResult {
  ok: boolean;
  detail?: string;
}

const withTimeout = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms).unref())]);

/** Readiness probes of each dependency; each answers within two seconds or counts as down. */
@Injectable()
export class DependencyChecks implements OnModuleDestroy {
  private admin?: Admin;
  private readonly redis: Redis;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly ds: DataSource,
    private readonly kafka: Kafka,
  ) {
    this.redis = new Redis(config.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, ...redisTlsOptions(config.redis) });
    this.redis.on('error', () => undefined); // reported through the probe, not as a crash
  }

  async postgres(): Promise<CheckResult> {
    return this.probe(async () => {
      await this.ds.query('SELECT 1');
    }, 'postgres');
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

  /** The sync worker's consumer group must be Stable with at least one member. */
  async consumers(): Promise<CheckResult> {
    return this.probe(async () => {
      const { groups } = await (await this.kafkaAdmin()).describeGroups([this.config.kafka.groupId]);
      const g = groups[0];
      if (!g || g.state !== 'Stable' || g.members.length === 0) {
        throw new Error(`group ${this.config.kafka.groupId} is ${g?.state ?? 'unknown'} with ${g?.members.length ?? 0} members`);
      }
    }, 'consumers');
  }

  private async kafkaAdmin(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    return this.admin;
  }

  private async probe(fn: () => Promise<void>, what: string): Promise<CheckResult> {
    try {
      await withTimeout(fn(), 2000, what);
      return { ok: true };
    } catch (err) {
      if (what === 'kafka' || what === 'consumers') {
        const admin = this.admin;
        this.admin = undefined;
        await admin?.disconnect().catch(() => undefined);
      }
      return { ok: false, detail: (err as Error).message };
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.admin?.disconnect().catch(() => undefined);
    this.redis.disconnect();
  }
}
