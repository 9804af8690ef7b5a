import '@app/observability/tracing-preload'; // first: OpenTelemetry patches what loads after it
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { AsyncMicroserviceOptions } from '@nestjs/microservices';
import { loadConfig } from '@app/config';
import { exitOnBootFailure, wireProcess } from '@app/observability';
import { SyncWorkerModule } from './sync-worker.module';
import { KafkaBatchTransport } from './transport/kafka-batch-transport';

async function bootstrap(): Promise<void> {
  const config = loadConfig(); // a bad variable stops boot here, naming it
  const app = await NestFactory.createMicroservice<AsyncMicroserviceOptions>(SyncWorkerModule, {
    bufferLogs: true,
    // The strategy is the module's own provider, so the lifecycle can close it first on shutdown.
    inject: [KafkaBatchTransport],
    useFactory: (strategy: KafkaBatchTransport) => ({ strategy }),
  });
  // A drained worker exits 0 (not by the re-raised signal), so a supervisor sees a clean stop.
  const logger = wireProcess(app, config.shutdownTimeoutMs, { exitAfterDrain: true });
  await app.listen();
  logger.log('sync worker started');
}

process.env.APP_NAME = 'sync-worker';
bootstrap().catch(exitOnBootFailure('sync-worker'));
