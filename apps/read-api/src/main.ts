import '@app/observability/tracing-preload'; // first: OpenTelemetry patches what loads after it
import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@app/config';
import { exitOnBootFailure, wireProcess } from '@app/observability';
import { ReadApiModule } from './read-api.module';

async function bootstrap(): Promise<void> {
  const config = loadConfig(); // fail before anything connects
  const app = await NestFactory.create(ReadApiModule, { bufferLogs: true });
  const logger = wireProcess(app, config.shutdownTimeoutMs);
  await app.listen(config.api.port, '0.0.0.0');
  // The port bound, not the one asked for: with API_PORT=0 the OS picks it.
  const { port } = app.getHttpServer().address() as AddressInfo;
  logger.log(`read API listening on port ${port} (queue dashboard at /admin/queues)`);
}

process.env.APP_NAME = 'read-api';
bootstrap().catch(exitOnBootFailure('read-api'));
