import type { INestApplicationContext } from '@nestjs/common';
import { Logger } from 'nestjs-pino';

/**
 * Shared tail of every app's main(): route Nest's logs through pino, drain on SIGTERM/SIGINT
 * (Nest runs the shutdown hooks: consumers stop, workers close, pools drain), and exit anyway
 * after a grace period so an orchestrator never has to SIGKILL a wedged process.
 */
export function wireProcess(app: INestApplicationContext, shutdownTimeoutMs: number, opts: { exitAfterDrain?: boolean } = {}): Logger {
  const logger = app.get(Logger);
  app.useLogger(logger);
  // exitAfterDrain: exit 0 once drained instead of re-raising the signal (which ends the process by signal).
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: opts.exitAfterDrain ?? false });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.log(`${signal} received: draining`);
      setTimeout(() => {
        logger.error(`still draining after ${shutdownTimeoutMs} ms: exiting`);
        process.exit(1);
      }, shutdownTimeoutMs).unref();
    });
  }
  return logger;
}

/** Boot errors (a bad env variable, an unreachable database) end the process with one clear line. */
export function exitOnBootFailure(app: string): (err: unknown) => never {
  return (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${app}: failed to start: ${message}\n`);
    process.exit(1);
  };
}
