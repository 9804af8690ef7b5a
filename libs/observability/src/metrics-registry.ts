import { Registry } from 'prom-client';

/** One registry per process, so each app exposes only what it measures. */
export class MetricsRegistry extends Registry {}
