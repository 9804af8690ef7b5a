import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext, Payload } from '@nestjs/microservices';
import { APP_CONFIG, AppConfig, loadConfig } from '@app/config';
import { DeadLetterPublisher, PoisonIsolatingSlice } from '@app/messaging';
import { InputApplier } from '@app/projection';

// The stock Kafka transport routes by topic, and decorators are evaluated when this file loads:
// the run's topic names come from the environment the bench gives the process.
const topics = loadConfig().topics;

/**
 * What a NestJS team builds from the docs: the stock Kafka transport calls one @EventPattern
 * handler per message, and each message is decoded and applied in a TypeORM transaction of its
 * own through the projection's apply path, with the same contract and dead letters as the
 * service. (The service's input topics each carry several event types; the stock transport's
 * pattern is the topic, so there is one handler per topic.)
 */
@Controller()
export class StockInputEventsController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly applier: InputApplier,
    private readonly deadLetters: DeadLetterPublisher,
  ) {}

  @EventPattern<string>(topics.courses)
  onCourseEvent(@Payload() _value: unknown, @Ctx() ctx: KafkaContext): Promise<void> {
    return this.applyOne(ctx);
  }

  @EventPattern<string>(topics.memberships)
  onMembershipEvent(@Payload() _value: unknown, @Ctx() ctx: KafkaContext): Promise<void> {
    return this.applyOne(ctx);
  }

  @EventPattern<string>(topics.lessonProgress)
  onLessonProgressEvent(@Payload() _value: unknown, @Ctx() ctx: KafkaContext): Promise<void> {
    return this.applyOne(ctx);
  }

  @EventPattern<string>(topics.users)
  onUserEvent(@Payload() _value: unknown, @Ctx() ctx: KafkaContext): Promise<void> {
    return this.applyOne(ctx);
  }

  private async applyOne(ctx: KafkaContext): Promise<void> {
    // The transport's parser (keepBinary) leaves the value as bytes but turns the key and headers
    // into strings; the contract decodes bytes.
    const m = ctx.getMessage();
    const bytes = (v: unknown) => (typeof v === 'string' ? Buffer.from(v) : (v as Buffer | null));
    const headers = Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, bytes(v) ?? undefined]));
    const item = { topic: ctx.getTopic(), partition: ctx.getPartition(), message: { ...m, key: bytes(m.key), headers } };
    const one = new PoisonIsolatingSlice([item], this.config.topics, (events) => this.applier.apply(events));
    await one.run();
    await this.deadLetters.send(one.refused().map((r) => ({ ...r.item, reason: r.reason, stage: r.stage })));
  }
}
