/**
 * The outbox insert wakes the relay: one statement writes the rows and queues the NOTIFY,
 * which Postgres delivers when the writing transaction commits, and never for a rolled-back one.
 * Real Postgres, an isolated schema.
 */
import { Client, Notification } from 'pg';
import { DataSource } from 'typeorm';
import { createDataSource, migrateUp, OUTBOX_CHANNEL, OutboxRepository, pgConnection } from '@app/persistence';
import { eventually } from '../support/eventually';
import { isolatedConfig } from '../support/isolation';

describe('outbox insert and its NOTIFY', () => {
  const config = isolatedConfig();
  const outbox = new OutboxRepository();
  let ds: DataSource;
  let listener: Client;
  const received: Notification[] = [];

  beforeAll(async () => {
    ds = await createDataSource(config.database).initialize();
    await migrateUp(ds, config.database.schema);
    listener = new Client(pgConnection(config.database));
    await listener.connect();
    listener.on('notification', (n) => received.push(n));
    await listener.query(`LISTEN ${OUTBOX_CHANNEL}`);
  }, 60_000);

  afterAll(async () => {
    await listener?.end();
    await ds?.query(`DROP SCHEMA IF EXISTS "${config.database.schema}" CASCADE`);
    await ds?.destroy();
  });

  const entry = (userId: number, version: number) => ({
    enrollmentId: `1:${userId}`,
    version,
    event: { type: 'lms.course_enrollment.created', data: { version } },
    traceContext: userId % 2 ? { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } : null,
  });

  it('writes every row and notifies the relay once the transaction commits', async () => {
    // Given a rolled-back write, then a committed one (channels are per database: other runs'
    // writers notify it too, so notifications are told apart by the notifying backend's pid)
    const pidOf = async (tx: { query: DataSource['query'] }) => (await tx.query<{ pid: number }[]>('SELECT pg_backend_pid() AS pid'))[0].pid;
    let rolledBackPid = 0;
    await ds
      .transaction(async (tx) => {
        rolledBackPid = await pidOf(tx);
        await outbox.add(tx, [entry(9, 1)]);
        throw new Error('roll back');
      })
      .catch(() => undefined);
    const committedPid = await ds.transaction(async (tx) => {
      await outbox.add(tx, [entry(1, 1), entry(2, 1), entry(1, 2)]);
      return pidOf(tx);
    });

    // Then the listener is notified by the committing backend, once
    await eventually(async () => (received.some((n) => n.processId === committedPid) ? true : undefined), 'a NOTIFY from the writer', 20_000);
    const mine = received.filter((n) => n.processId === committedPid || n.processId === rolledBackPid);
    expect(mine.map((n) => [n.channel, n.processId])).toEqual([[OUTBOX_CHANNEL, committedPid]]);
    // And only the committed rows are there, in insertion order, with their trace context
    const rows: { enrollment_id: string; version: number; event: { data: { version: number } }; trace_context: unknown }[] = await ds.query(
      `SELECT enrollment_id, version, event, trace_context FROM outbox ORDER BY seq`,
    );
    expect(rows.map((r) => [r.enrollment_id, r.version, r.event.data.version, r.trace_context !== null])).toEqual([
      ['1:1', 1, 1, true],
      ['1:2', 1, 1, false],
      ['1:1', 2, 2, true],
    ]);
  }, 60_000);
});
