import type { PinoLogger } from 'nestjs-pino';
import { createMetricsRegistry, MetricsEndpoint } from '@app/observability';

/** A logger that keeps what it was given. */
function recordingLogger(): { logger: PinoLogger; lines: { level: string; args: unknown[] }[] } {
  const lines: { level: string; args: unknown[] }[] = [];
  const at =
    (level: string) =>
    (...args: unknown[]) =>
      void lines.push({ level, args });
  return { logger: { setContext() {}, info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug'), trace: at('trace') } as unknown as PinoLogger, lines };
}

describe('metrics endpoint', () => {
  it('logs the port it bound when asked for port 0', async () => {
    const { logger, lines } = recordingLogger();
    const endpoint = new MetricsEndpoint(createMetricsRegistry(), 0, undefined, logger);
    await endpoint.onApplicationBootstrap();
    try {
      const port = endpoint.boundPort()!;
      expect(port).toBeGreaterThan(0);
      expect((await fetch(`http://127.0.0.1:${port}/health/live`)).status).toBe(200);
      expect(lines).toEqual([{ level: 'info', args: [{ port, requested_port: 0 }, expect.stringContaining(`port ${port}`)] }]);
    } finally {
      await endpoint.onApplicationShutdown();
    }
  });
});
