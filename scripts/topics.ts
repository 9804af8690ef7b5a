// node dist/scripts/topics.js create [--replication-factor N] | wait [--timeout-ms N]
// Creates the service's topics that are missing (the broker never auto-creates them), or waits
// until they all exist. Runs with the service's own Kafka client (same env, same security
// settings), so a deployment's topic Job reaches the cluster exactly as the apps do.
// `--replication-factor` defaults to -1: the cluster's `default.replication.factor`.
import { loadConfig } from '@app/config';
import { createKafka, topicSpecs } from '@app/messaging';

const flag = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isInteger(n)) throw new Error(`${name} must be an integer`);
  return n;
};

async function main(): Promise<void> {
  const command = process.argv[2];
  const config = loadConfig();
  const specs = topicSpecs(config, flag('--replication-factor', -1));
  const admin = createKafka(config, undefined, '-topics').admin();
  await admin.connect();
  try {
    if (command === 'create') {
      const present = new Set(await admin.listTopics());
      const missing = specs.filter((s) => !present.has(s.topic));
      if (missing.length > 0) {
        await admin.createTopics({ topics: missing, waitForLeaders: true }).catch(async (err: Error) => {
          // Another run created some of them meanwhile: fine as long as all exist now.
          const now = new Set(await admin.listTopics());
          if (missing.some((s) => !now.has(s.topic))) throw err;
        });
      }
      const { topics } = await admin.fetchTopicMetadata({ topics: specs.map((s) => s.topic) });
      for (const s of specs) {
        const have = topics.find((t) => t.name === s.topic)?.partitions.length ?? 0;
        const note = have === s.numPartitions ? '' : ` (expected ${s.numPartitions}: left as it is)`;
        console.log(`topics: ${s.topic} ${missing.includes(s) ? 'created' : 'present'}, ${have} partitions${note}`);
      }
    } else if (command === 'wait') {
      const deadline = Date.now() + flag('--timeout-ms', 600_000);
      for (;;) {
        const present = new Set(await admin.listTopics());
        const missing = specs.filter((s) => !present.has(s.topic)).map((s) => s.topic);
        if (missing.length === 0) break;
        if (Date.now() > deadline) throw new Error(`topics still missing: ${missing.join(', ')}`);
        console.log(`topics: waiting for ${missing.join(', ')}`);
        await new Promise((r) => setTimeout(r, 2000));
      }
      console.log('topics: all present');
    } else {
      throw new Error(`unknown command "${command ?? ''}" (use create or wait)`);
    }
  } finally {
    await admin.disconnect();
  }
}

main().catch((err: Error) => {
  console.error(`topics: ${err.message}`);
  process.exit(1);
});
