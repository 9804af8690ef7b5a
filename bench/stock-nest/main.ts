/**
 * The benchmark's stock-Nest baseline: `NestFactory.createMicroservice` with `Transport.KAFKA`
 * as the NestJS docs set it up, on the run's topics, group and schema. Started by bench/run.ts.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { MicroserviceOptions, Transport } from '@nestjs/microservices';
import { loadConfig } from '@app/config';
import { exitOnBootFailure, wireProcess } from '@app/observability';
import { StockNestModule } from './stock-nest.module';

async function bootstrap(): Promise<void> {
  const config = loadConfig();
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(StockNestModule, {
    bufferLogs: true,
    transport: Transport.KAFKA,
    options: {
      client: { clientId: config.kafka.clientId, brokers: config.kafka.brokers },
      consumer: { groupId: config.kafka.groupId, sessionTimeout: config.kafka.sessionTimeoutMs },
      // The bench reads the run's group by its name; the transport would append '-server'.
      postfixId: '',
      subscribe: { fromBeginning: true },
      // Hand the handler the message's bytes: the contract, not the transport, decodes them.
      parser: { keepBinary: true },
      // Same partition concurrency as the service, so the comparison is about batching alone.
      run: { partitionsConsumedConcurrently: config.ingestConcurrency },
    },
  });
  wireProcess(app, config.shutdownTimeoutMs, { exitAfterDrain: true });
  await app.listen();
}

process.env.APP_NAME = 'stock-nest-baseline';
bootstrap().catch(exitOnBootFailure('stock-nest-baseline'));
