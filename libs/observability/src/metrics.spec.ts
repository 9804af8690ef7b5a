import { createMetricsRegistry } from './metrics';

describe('createMetricsRegistry', () => {
  it("exports Node's default metrics under their standard names, not under the service prefix", async () => {
    const names = (await createMetricsRegistry().getMetricsAsJSON()).map((m) => m.name);
    expect(names).toEqual(
      expect.arrayContaining(['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds']),
    );
    expect(names.filter((n) => n.startsWith('enrollment_sync_'))).toEqual([]);
  });
});
