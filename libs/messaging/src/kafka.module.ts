import { Global, Module } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '@app/config';
import { createKafka } from './kafka-client';

@Global()
@Module({
  providers: [
    {
      provide: Kafka,
      inject: [APP_CONFIG, PinoLogger],
      useFactory: (config: AppConfig, logger: PinoLogger) => createKafka(config, logger.logger),
    },
  ],
  exports: [Kafka],
})
export class KafkaModule {}
