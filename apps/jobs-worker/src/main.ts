import '@app/observability/tracing-preload'; // first: OpenTelemetry patches what loads after it
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@app/config';
import { exitOnBootFailure, wireProcess } from '@app/observability';
import { JobsWorkerModule } from './jobs-worker.module';

async function bootstrap(): Promise<void> {
  const config = loadConfig();
  const app = await NestFactory.createApplicationContext(JobsWorkerModule, { bufferLogs: true });
  const logger = wireProcess(app, config.shutdownTimeoutMs);
  await app.init();
  logger.log('jobs worker started');
}

process.env.APP_NAME = 'jobs-worker';
bootstrap().catch(exitOnBootFailure('jobs-worker'));
