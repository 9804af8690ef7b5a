import { Controller, Inject, UseFilters } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '@app/config';
import { DeadLetterPublisher, failureReason, MessageResult, PoisonIsolatingSlice } from '@app/messaging';
import { PipelineMetrics } from '@app/observability';
import { InputApplier } from '@app/projection';
import { FailurePassthroughFilter, INPUT_SLICE, InputSlice, InputSliceContext } from '../transport/kafka-batch-transport';

/** One slice's progress across the transport's attempts. */
interface SliceRun {
  isolating: PoisonIsolatingSlice;
  lettersSent: boolean;
}

/**
 * Applies the slices the batch transport delivers. Each slice is decoded at the edge and applied
 * in one Postgres transaction (`PoisonIsolatingSlice`: a message that breaks the contract, or
 * that the store refuses even alone once its slice is bisected, becomes a dead letter), and its
 * dead letters are published before the handler returns. A transient failure or a lock conflict
 * is thrown to the transport, which retries the slice in place with the same context; the
 * bisection and the dead letters already sent carry over, so a retry neither re-applies the
 * applied halves nor sends the dead letters twice.
 */
@Controller()
@UseFilters(FailurePassthroughFilter)
export class InputSliceController {
  private readonly runs = new WeakMap<InputSliceContext, SliceRun>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly applier: InputApplier,
    private readonly deadLetters: DeadLetterPublisher,
    private readonly metrics: PipelineMetrics,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext(InputSliceController.name);
  }

  @EventPattern<string>(INPUT_SLICE)
  async applySlice(@Payload() slice: InputSlice, @Ctx() ctx: InputSliceContext): Promise<void> {
    const { topic, partition } = slice;
    let run = this.runs.get(ctx);
    if (!run) {
      const isolating = new PoisonIsolatingSlice(
        slice.messages.map((message) => ({ topic, partition, message })),
        this.config.topics,
        (events) => this.applier.apply(events),
        {
          onPoison: (err, messages) => {
            this.metrics.sliceFailures.inc({ kind: 'poison' });
            this.logger.warn({ topic, partition, messages, error: failureReason(err) }, 'part of a slice failed as poison; bisecting');
          },
          // A bisection runs several transactions in a row: keep the partition meanwhile.
          beforeRetry: () => ctx.heartbeat(),
        },
        this.config.maxFutureSkewMs,
      );
      run = { isolating, lettersSent: false };
      this.runs.set(ctx, run);
    }
    const results: MessageResult[] = await run.isolating.run();
    if (!run.lettersSent) {
      await this.deadLetters.send(run.isolating.refused().map((r) => ({ ...r.item, reason: r.reason, stage: r.stage })));
      run.lettersSent = true;
    }

    results.forEach((r, i) => {
      this.metrics.inputMessages.inc({ outcome: r.outcome === 'refused' ? 'dead_lettered' : r.outcome, topic });
      if (r.outcome === 'refused' || !r.conflict) return;
      // An upstream reused an id for other content: the first stays. Never the payload in a log.
      this.metrics.conflictingDuplicates.inc({ topic });
      this.logger.warn(
        { source: r.conflict.source, id: r.conflict.id, topic, partition, offset: slice.messages[i].offset },
        'conflicting duplicate: same source and id as an event already processed, other payload or time; ignored, the first stays',
      );
    });
    for (const r of run.isolating.refused()) {
      this.logger.warn({ topic, partition, offset: r.item.message.offset, stage: r.stage, reason: r.reason }, 'dead-lettered');
    }
  }
}
