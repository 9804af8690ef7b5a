/**
 * Local infrastructure without Docker: a single-node KRaft Kafka broker resolved from Maven
 * Central and run with the machine's java, plus the machine's Postgres and Redis.
 *
 *   npm run infra:up                  start/ensure everything, create databases and topics
 *   npm run infra:up -- --secure      same, the broker also with a SASL_SSL listener (SCRAM-SHA-512,
 *                                     certificates from a local CA) on KAFKA_SECURE_PORT (9094);
 *                                     KAFKA_SECURE=1 does the same
 *   npm run infra:status              state of each component; exit 1 if something is down
 *   npm run infra:down [-- --purge]   stop the Kafka broker this checkout started
 *                                     (--purge also deletes its data dir)
 *
 * Runs from a clean clone through scripts/run-ts.mjs (no build needed). See deploy/kafka/README.md
 * for the environment variables and where things live. With Docker instead:
 * docker compose up -d kafka postgres redis
 */
import { kafkaDown, kafkaStatus, kafkaUp } from './kafka';
import { describeError, fail, red, secs } from './output';
import { postgresStatus, postgresUp } from './postgres';
import { redisStatus, redisUp } from './redis';
import { Command, parseCommand, USAGE } from './settings';
import { topicsStatus, topicsUp } from './topics';

/** Runs one component's step; a failure is reported under its name and the next steps still run. */
async function step(name: string, fn: () => Promise<void>): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (err) {
    fail(name, describeError(err));
    return false;
  }
}

async function up(secure: boolean): Promise<boolean> {
  const t0 = Date.now();
  const results = [await step('postgres', postgresUp), await step('redis', redisUp)];
  const kafkaOk = await step('kafka', () => kafkaUp(secure));
  results.push(kafkaOk);
  if (kafkaOk) results.push(await step('topics', topicsUp));
  else fail('topics', 'skipped (no broker)');
  const ok = results.every(Boolean);
  console.log(`infra up: ${ok ? 'ready' : red('FAILED')} in ${secs(Date.now() - t0)}`);
  return ok;
}

async function down(purge: boolean): Promise<boolean> {
  const ok = await step('kafka', () => kafkaDown(purge));
  console.log('postgres, redis: left running (they belong to the machine)');
  return ok;
}

async function status(): Promise<boolean> {
  const results = [await postgresStatus(), await redisStatus()];
  const kafkaOk = await kafkaStatus().catch((err: unknown) => {
    fail('kafka', describeError(err));
    return false;
  });
  results.push(kafkaOk);
  if (kafkaOk) results.push(await topicsStatus());
  else {
    fail('topics', 'unknown (no broker)');
    results.push(false);
  }
  return results.every(Boolean);
}

function run(command: Command): Promise<boolean> {
  switch (command.name) {
    case 'up':
      return up(command.secure);
    case 'down':
      return down(command.purge);
    case 'status':
      return status();
  }
}

/** The exit code: 0 done, 1 something failed or is down, 2 usage. */
export async function main(argv: readonly string[]): Promise<number> {
  const command = parseCommand(argv);
  if (!command) {
    console.error(USAGE);
    return 2;
  }
  try {
    return (await run(command)) ? 0 : 1;
  } catch (err) {
    console.error(`infra ${command.name}: ${red(describeError(err))}`);
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
