import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '@app/config';
import { failureReason } from '@app/messaging';
import { PipelineMetrics, Readiness, ReadinessCheck } from '@app/observability';
import { OutboxStore } from '@app/persistence';
import { KafkaBatchTransport } from '../transport/kafka-batch-transport';

/**
 * The sync worker is ready when it is moving: its consumer has joined the group, no partition
 * with lag has stood still for STALL_AFTER_MS, and the outbox's oldest pending event is younger
 * than that. Anything else answers 503 with the reasons, so a worker stuck on a message or a
 * dependency is visible, not just alive. Also keeps `enrollment_sync_outbox_oldest_age_seconds`
 * current (the relay owns `outbox_pending`; this worker measures how old the backlog is).
 */
@Injectable()
export class SyncWorkerReadiness implements ReadinessCheck, OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly transport: KafkaBatchTransport,
    private readonly outbox: OutboxStore,
    private readonly metrics: PipelineMetrics,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext(SyncWorkerReadiness.name);
  }

  onApplicationBootstrap(): void {
    const every = Math.max(250, Math.min(5000, Math.floor(this.config.stallAfterMs / 4)));
    this.timer = setInterval(() => {
      this.outboxAge().catch((err) => this.logger.debug({ error: failureReason(err) }, 'could not read the outbox age'));
    }, every);
    this.timer.unref();
  }

  beforeApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async check(): Promise<Readiness> {
    const stallAfterMs = this.config.stallAfterMs;
    const reasons: string[] = [];
    const progress = this.transport.progress;
    if (!progress.joined) reasons.push('the consumer has not joined its group');
    reasons.push(...progress.stalled(stallAfterMs));
    let outboxAgeSeconds: number | null = null;
    try {
      outboxAgeSeconds = await this.outboxAge();
      if (outboxAgeSeconds * 1000 >= stallAfterMs) {
        reasons.push(`the outbox's oldest pending event is ${Math.round(outboxAgeSeconds)} s old`);
      }
    } catch (err) {
      reasons.push(`cannot read the outbox: ${failureReason(err)}`);
    }
    return { ready: reasons.length === 0, reasons, details: { stallAfterMs, outboxOldestAgeSeconds: outboxAgeSeconds } };
  }

  private async outboxAge(): Promise<number> {
    const age = await this.outbox.oldestPendingAgeSeconds();
    this.metrics.outboxOldestAgeSeconds.set(age);
    return age;
  }
}
