import { DataSource } from 'typeorm';
import { decodeMessage, InputEvent } from '@app/contracts';
import { createDataSource, migrateUp } from '@app/persistence';
import { createProjection, Outcome } from '@app/projection';
import type { InputMessage } from '@app/workload';
import { isolatedConfig } from './isolation';

export interface PublishedEvent {
  type: string;
  version: number;
  changed_fields: string[];
  cause: Record<string, string>;
  course_enrollment: Record<string, unknown> & { status: string; id: string };
}

/**
 * The projection's use cases on a real Postgres schema of their own, without Kafka: what the
 * sync worker and jobs worker run, minus transport. Given input messages, when they are applied,
 * then the outbox holds what would be published.
 */
export async function projectionFixture(overrides: Record<string, string> = {}) {
  const config = isolatedConfig(overrides);
  const ds: DataSource = await createDataSource(config.database).initialize();
  await migrateUp(ds, config.database.schema);
  const { applier, recompute, sweep, rebuild, recomputeRequests } = createProjection(ds, config.courseUrlTemplate);

  const decode = (messages: InputMessage[]): InputEvent[] =>
    messages.map((m) => {
      const r = decodeMessage({ topic: config.topics[m.topic], key: Buffer.from(m.key), value: Buffer.from(m.value), headers: {} }, config.topics);
      if (!r.ok) throw new Error(`fixture message is invalid: ${r.reason}`);
      return r.event;
    });

  return {
    config,
    ds,
    recompute,
    sweep,
    rebuild,
    applier,
    decode,
    /** Course recomputes requested and not yet run. */
    pendingRecomputes: () => recomputeRequests.pending(ds),
    async apply(...messages: InputMessage[]): Promise<Outcome[]> {
      return (await applier.apply(decode(messages))).outcomes;
    },
    /** Every event in the outbox for a key, in version order. */
    async published(id: string): Promise<PublishedEvent[]> {
      const rows: { event: { type: string; data: Omit<PublishedEvent, 'type'> } }[] = await ds.query(
        `SELECT event FROM outbox WHERE enrollment_id = $1 ORDER BY version`,
        [id],
      );
      return rows.map((r) => ({ type: r.event.type, ...r.event.data }));
    },
    async outboxSize(): Promise<number> {
      return (await ds.query(`SELECT count(*)::int AS n FROM outbox`))[0].n;
    },
    async close(): Promise<void> {
      await ds.query(`DROP SCHEMA IF EXISTS "${config.database.schema}" CASCADE`);
      await ds.destroy();
    },
  };
}
