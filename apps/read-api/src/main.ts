import '@app/observability/tracing-preload'; // first: OpenTelemetry patches what loads after it
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@app/config';
import { exitOnBootFailure, wireProcess } from '@app/observability';
import { ReadApiModule } from './read-api.module';

async function bootstrap(): Promise<void> {
  const config = loadConfig(); // fail before anything connects
  const app = await NestFactory.create(ReadApiModule, { bufferLogs: true });
  const logger = wireProcess(app, config.shutdownTimeoutMs);
  await app.listen(config.api.port, '0.0.0.0');
  logger.log(`read API listening on port ${config.api.port} (queue dashboard at /admin/queues)`);
}

process.env.APP_NAME = 'read-api';
bootstrap().catch(exitOnBootFailure('read-api'));
