/**
 * What the Kubernetes migration Job and the apps' init containers run (deploy/k8s): the built
 * `migrate.js` and `topics.js` on this run's schema and topics, on the real Postgres and Kafka.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createDataSource } from '@app/persistence';
import { topicSpecs } from '@app/messaging';
import { isolatedConfig } from '../support/isolation';
import { testKafka } from '../support/kafka';
import { envOf } from '../support/pipeline';

const DIST = join(__dirname, '..', '..', 'dist', 'scripts');

describe('migration and topic jobs', () => {
  const config = isolatedConfig();
  const env = { ...process.env, ...envOf(config) };
  const run = (script: string, ...args: string[]): Promise<{ code: number; out: string }> =>
    new Promise((resolve) => {
      execFile(process.execPath, [join(DIST, script), ...args], { env }, (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` });
      });
    });

  beforeAll(() => {
    for (const s of ['migrate.js', 'topics.js']) if (!existsSync(join(DIST, s))) throw new Error(`dist/scripts/${s} is missing: run "npm run build" first`);
  });

  afterAll(async () => {
    const ds = await createDataSource(config.database).initialize();
    await ds.query(`DROP SCHEMA IF EXISTS "${config.database.schema}" CASCADE`);
    await ds.destroy();
    const admin = testKafka(config).admin();
    await admin.connect();
    await admin.deleteTopics({ topics: topicSpecs(config).map((s) => s.topic) }).catch(() => undefined);
    await admin.disconnect();
  });

  it('migrate wait blocks while migrations are pending; two concurrent runs apply them once; then wait passes', async () => {
    const early = await run('migrate.js', 'wait', '--timeout-ms', '500');
    expect(early).toEqual({ code: 1, out: expect.stringMatching(/still pending .*InitialProjection/) });

    const [a, b] = await Promise.all([run('migrate.js', 'up'), run('migrate.js', 'up')]);
    // Whole results in the expectation, so a failure shows what each run printed.
    expect({ a, b }).toEqual({ a: { code: 0, out: expect.any(String) }, b: { code: 0, out: expect.any(String) } });
    const outs = [a.out, b.out].sort();
    expect(outs[0]).toMatch(/migrate: applied InitialProjection/);
    expect(outs[1]).toMatch(/migrate: database is up to date/);

    const after = await run('migrate.js', 'wait', '--timeout-ms', '500');
    expect(after).toEqual({ code: 0, out: expect.stringMatching(/up to date/) });
  });

  it('topics wait blocks until topics create made them all, with the partitions of the config', async () => {
    const early = await run('topics.js', 'wait', '--timeout-ms', '500');
    expect(early).toEqual({ code: 1, out: expect.stringContaining(config.topics.courses) });

    const created = await run('topics.js', 'create');
    expect(created).toEqual({ code: 0, out: expect.any(String) });
    expect(created.out).toContain(`${config.topics.memberships} created, ${config.topics.partitions} partitions`);
    expect(created.out).toContain(`${config.topics.dlq} created, ${config.topics.dlqPartitions} partitions`);

    const again = await run('topics.js', 'create');
    expect(again.out).toContain(`${config.topics.courses} present`);
    expect(await run('topics.js', 'wait', '--timeout-ms', '500')).toEqual({ code: 0, out: expect.stringMatching(/all present/) });
  });
});
