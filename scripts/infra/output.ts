/** What every infra module shares: the checkout's root, console output, and the error type it prints without a stack. */
import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The checkout these modules belong to. They run from their sources (jest), from
 * .cache/infra (scripts/run-ts.mjs) and from dist (the build), at different depths, so the
 * root is the nearest folder with a package.json rather than a fixed number of `..`.
 */
export function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const ROOT = findRoot(__dirname);
export const INFRA_DIR = path.join(ROOT, '.infra');
export const DOCKER_HINT = 'docker compose up -d kafka postgres redis';

/** A failure the user can act on: printed as its message alone. */
export class InfraError extends Error {
  override name = 'InfraError';
}

const PLAIN = process.env.CI === 'true' || !process.stdout.isTTY || 'NO_COLOR' in process.env;
const paint =
  (code: string) =>
  (s: string): string =>
    PLAIN ? s : `\x1b[${code}m${s}\x1b[0m`;
export const green = paint('32');
export const red = paint('31');
export const yellow = paint('33');
export const dim = paint('2');

export const say = (component: string, msg: string): void => console.log(`${component}: ${msg}`);
export const warn = (component: string, msg: string): void => console.log(`${component}: ${yellow(msg)}`);
export const fail = (component: string, msg: string): void => console.log(`${component}: ${red(msg)}`);

export const rel = (p: string): string => path.relative(ROOT, p) || '.';
export const secs = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The message of anything thrown; the stack too for what is not a user's error (a bug). */
export function describeError(err: unknown): string {
  // ConfigError: a bad TOPIC_* or KAFKA_SSL*/KAFKA_SASL* variable, checked by libs/config.
  if (err instanceof InfraError || (err instanceof Error && err.name === 'ConfigError')) return err.message;
  if (err instanceof Error) return err.stack ?? err.message;
  return String(err);
}

/** `code` of a Node system error, if it has one. */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
