import '../../../libs/observability/src/tracing-preload'; // first: OpenTelemetry patches what loads after it
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@app/config';
import { exitOnBootFailure, wireProcess } from '@app/observability';
import { SyncWorkerModule } from './sync-worker.module';

async function bootstrap(): Promise<void> {
  const config = loadConfig(); // a bad variable stops boot here, naming it
  const app = await NestFactory.createApplicationContext(SyncWorkerModule, { bufferLogs: true });
  const logger = wireProcess(app, config.shutdownTimeoutMs);
  await app.init();
  logger.log('sync worker started');
}

process.env.APP_NAME = 'sync-worker';
bootstrap().catch(exitOnBootFailure('sync-worker'));
