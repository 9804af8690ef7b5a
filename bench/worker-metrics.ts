import { createServer } from 'node:net';

/** A TCP port free right now, for a worker's /metrics (port 0 would hide which one it took). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** One sample of the Prometheus text format: name, labels, value. */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parsePrometheusText(text: string): MetricSample[] {
  const out: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    const value = Number(m[3]);
    if (Number.isFinite(value)) out.push({ name: m[1], labels, value });
  }
  return out;
}

/** A worker's /metrics, parsed; undefined when it does not answer (stopped, or not up yet). */
export async function scrapeMetrics(port: number): Promise<MetricSample[] | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
    return res.ok ? parsePrometheusText(await res.text()) : undefined;
  } catch {
    return undefined;
  }
}

/** Output events this worker's relay published (all types). */
export const outputsPublished = (samples: MetricSample[]): number =>
  samples.filter((s) => s.name === 'enrollment_sync_output_events_total').reduce((a, s) => a + s.value, 0);

/**
 * Outputs per relay slot, from any counter with a `slot` label whose name speaks of outputs
 * (the slot relay's per-slot metric); empty before the relay has slots.
 */
export function outputsBySlot(samples: MetricSample[]): Map<string, number> {
  const by = new Map<string, number>();
  for (const s of samples) {
    if (s.labels.slot === undefined || !/output|publish/.test(s.name) || !s.name.endsWith('_total')) continue;
    by.set(s.labels.slot, (by.get(s.labels.slot) ?? 0) + s.value);
  }
  return by;
}
