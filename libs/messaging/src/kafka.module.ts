import { Global, Module } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '@app/config';
import { createKafka, verifyKafkaSecurity } from './kafka-client';

@Global()
@Module({
  providers: [
    {
      provide: Kafka,
      inject: [APP_CONFIG, PinoLogger],
      useFactory: async (config: AppConfig, logger: PinoLogger) => {
        await verifyKafkaSecurity(config);
        return createKafka(config, logger.logger);
      },
    },
  ],
  exports: [Kafka],
})
export class KafkaModule {}
