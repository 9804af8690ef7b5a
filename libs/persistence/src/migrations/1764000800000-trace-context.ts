import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The W3C trace context of the input event that caused a change, kept with the change until it
 * is published: on an outbox row (the relay sends it as the output event's `traceparent` and
 * `tracestate` headers) and on a recompute request (the course-wide re-derivation it asks for
 * links to it, and the events it publishes carry it). Null when the input had none.
 */
export class TraceContext1764000800000 implements MigrationInterface {
  name = 'TraceContext1764000800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE outbox ADD COLUMN trace_context jsonb`);
    await q.query(`ALTER TABLE recompute_requests ADD COLUMN trace_context jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE recompute_requests DROP COLUMN IF EXISTS trace_context`);
    await q.query(`ALTER TABLE outbox DROP COLUMN IF EXISTS trace_context`);
  }
}
