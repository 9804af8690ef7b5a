import { Client } from 'pg';
import { AppConfig, inputTopics } from '@app/config';
import { pgConnection } from '@app/persistence';
import { RunResources } from './infra';

/**
 * Raw consumption: a new group reads the run's input topics from the beginning with a no-op
 * eachBatch. Timed from the first batch to the last message (the group join is excluded, as
 * the worker's join is excluded from the end-to-end figure).
 */
export async function rawConsume(res: RunResources, total: number, timeoutMs = 300_000): Promise<{ messages: number; ms: number; perSec: number }> {
  const consumer = res.kafka.consumer({ groupId: `bench-raw-${res.run.id}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: inputTopics(res.run.config), fromBeginning: true });
  let count = 0;
  let first = 0;
  let last = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  await consumer.run({
    eachBatchAutoResolve: true,
    eachBatch: async ({ batch }) => {
      const now = performance.now();
      if (first === 0) first = now;
      count += batch.messages.length;
      last = now;
      if (count >= total) resolveDone();
    },
  });
  await Promise.race([done, new Promise((r) => setTimeout(r, timeoutMs))]);
  await consumer.disconnect();
  const ms = last - first;
  return { messages: count, ms, perSec: ms > 0 ? count / (ms / 1000) : 0 };
}

/** Raw batched insert rate: unnest of 1000-row batches into a temp table over one connection. */
export async function rawPgInsert(db: AppConfig['database'], rows: number, batch = 1000): Promise<{ rows: number; ms: number; perSec: number }> {
  const client = new Client({ ...pgConnection(db), application_name: 'bench-raw-insert' });
  await client.connect();
  try {
    await client.query(`CREATE TEMP TABLE bench_raw (source text, id text, course_id bigint, user_id bigint, time text, data jsonb)`);
    const payload = JSON.stringify({ course_id: 1, lesson_id: 101, user_id: 1, time_spent_seconds: 120 });
    const start = performance.now();
    for (let done = 0; done < rows; done += batch) {
      const n = Math.min(batch, rows - done);
      const src: string[] = [],
        ids: string[] = [],
        courses: number[] = [],
        users: number[] = [],
        times: string[] = [],
        data: string[] = [];
      for (let i = 0; i < n; i++) {
        src.push('/bench');
        ids.push(`raw-${done + i}`);
        courses.push((done + i) % 200);
        users.push((done + i) % 5000);
        times.push('2026-10-01T00:00:00.000000Z');
        data.push(payload);
      }
      await client.query(`INSERT INTO bench_raw SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::jsonb[])`, [
        src,
        ids,
        courses,
        users,
        times,
        data,
      ]);
    }
    const ms = performance.now() - start;
    return { rows, ms, perSec: rows / (ms / 1000) };
  } finally {
    await client.end();
  }
}
