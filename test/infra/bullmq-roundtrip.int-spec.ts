import { Job, Queue, QueueEvents, Worker } from 'bullmq';
import { queueOptions, workerOptions } from '@app/jobs';
import { isolatedConfig } from '../support/isolation';

describe('BullMQ round trip on the real Redis', () => {
  const config = isolatedConfig();
  const name = 'roundtrip';
  const queue = new Queue(name, queueOptions(config));
  const events = new QueueEvents(name, { ...queueOptions(config) });
  const seen: Job[] = [];
  const worker = new Worker(
    name,
    async (job) => {
      seen.push(job);
      await job.updateProgress(50);
      if (job.data.fail) throw new Error('asked to fail');
      return { doubled: job.data.n * 2 };
    },
    workerOptions(config),
  );

  beforeAll(async () => {
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady(), worker.waitUntilReady()]);
  });

  afterAll(async () => {
    await worker.close();
    await queue.obliterate({ force: true });
    await Promise.all([queue.close(), events.close()]);
  });

  it('runs a job to completion and returns its result', async () => {
    const job = await queue.add('double', { n: 21 });
    await expect(job.waitUntilFinished(events, 15000)).resolves.toEqual({ doubled: 42 });
    expect(seen.map((j) => j.id)).toContain(job.id);
  });

  it('keeps one job for the same deterministic id', async () => {
    const a = await queue.add('double', { n: 1 }, { jobId: 'same-request' });
    const b = await queue.add('double', { n: 1 }, { jobId: 'same-request' });
    expect(b.id).toBe(a.id);
    await a.waitUntilFinished(events, 15000);
    expect(seen.filter((j) => j.id === 'same-request')).toHaveLength(1);
  });

  it('keeps a failed job visible with its error', async () => {
    const job = await queue.add('double', { n: 1, fail: true }, { attempts: 1 });
    await expect(job.waitUntilFinished(events, 15000)).rejects.toThrow('asked to fail');
    const failed = await queue.getJob(job.id!);
    expect(failed?.failedReason).toBe('asked to fail');
    expect(await failed?.getState()).toBe('failed');
  });
});
