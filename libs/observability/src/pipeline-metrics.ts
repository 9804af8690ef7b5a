import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { MetricsRegistry } from './metrics-registry';

/** The pipeline's counters: every input message ends in exactly one outcome. */
@Injectable()
export class PipelineMetrics {
  readonly inputMessages: Counter<'outcome' | 'topic'>;
  readonly conflictingDuplicates: Counter<'topic'>;
  readonly outputEvents: Counter<'type'>;
  readonly sliceSeconds: Histogram;
  readonly retries: Counter<'stage'>;
  readonly outboxPending: Gauge;
  readonly outboxParked: Gauge;
  readonly relayPublishSeconds: Histogram;
  readonly consumerLag: Gauge<'topic' | 'partition'>;
  readonly sliceFailures: Counter<'kind'>;
  readonly outboxOldestAgeSeconds: Gauge;
  readonly relaySlotsOwned: Gauge;
  readonly relaySlotOutputs: Counter<'slot'>;

  constructor(registry: MetricsRegistry) {
    this.inputMessages = new Counter({
      name: 'enrollment_sync_input_messages_total',
      help: 'Input messages by outcome: applied, duplicate, noop or dead_lettered',
      labelNames: ['outcome', 'topic'],
      registers: [registry],
    });
    this.conflictingDuplicates = new Counter({
      name: 'enrollment_sync_conflicting_duplicates_total',
      help: 'Duplicates (counted as such in enrollment_sync_input_messages_total) whose payload or time differs from the event first processed under the same source and id',
      labelNames: ['topic'],
      registers: [registry],
    });
    this.outputEvents = new Counter({
      name: 'enrollment_sync_output_events_total',
      help: 'CourseEnrollments events published, by type',
      labelNames: ['type'],
      registers: [registry],
    });
    this.sliceSeconds = new Histogram({
      name: 'enrollment_sync_slice_seconds',
      help: 'Time to apply one batch slice (decode, transaction, dead letters, offset commit)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    this.retries = new Counter({
      name: 'enrollment_sync_transient_retries_total',
      help: 'Transient failures retried, by stage',
      labelNames: ['stage'],
      registers: [registry],
    });
    this.outboxPending = new Gauge({
      name: 'enrollment_sync_outbox_pending',
      help: "Events written to the outbox and not yet published, parked ones excluded (as of the relay's last look)",
      registers: [registry],
    });
    this.outboxParked = new Gauge({
      name: 'enrollment_sync_outbox_parked',
      help: 'Outbox events parked: refused by the broker, or held behind a refused version of their key (npm run ops -- parked)',
      registers: [registry],
    });
    this.relayPublishSeconds = new Histogram({
      name: 'enrollment_sync_relay_publish_seconds',
      help: "Time from an event's insert into the outbox to the broker's acknowledgement of it",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    });
    this.consumerLag = new Gauge({
      name: 'enrollment_sync_consumer_lag',
      help: 'Input messages not yet applied or dead-lettered (high watermark minus processed offset), per partition this worker owns',
      labelNames: ['topic', 'partition'],
      registers: [registry],
    });
    this.sliceFailures = new Counter({
      name: 'enrollment_sync_slice_failures_total',
      help: 'Failed attempts to apply a slice (or a part of it while bisecting), by kind: transient, conflict or poison',
      labelNames: ['kind'],
      registers: [registry],
    });
    this.outboxOldestAgeSeconds = new Gauge({
      name: 'enrollment_sync_outbox_oldest_age_seconds',
      help: 'Age of the oldest outbox event not yet published (0 when none)',
      registers: [registry],
    });
    this.relaySlotsOwned = new Gauge({
      name: 'enrollment_sync_relay_slots_owned',
      help: 'Relay slots this replica holds a lease on (it publishes only their output partitions)',
      registers: [registry],
    });
    this.relaySlotOutputs = new Counter({
      name: 'enrollment_sync_relay_slot_outputs_total',
      help: 'Events this replica published and purged, by relay slot',
      labelNames: ['slot'],
      registers: [registry],
    });
  }
}
