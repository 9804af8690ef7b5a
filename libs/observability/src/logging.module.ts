import { Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '@app/config';
import { TracingShutdown } from './tracing-shutdown';

/** Structured JSON logs; credentials never reach them. Also flushes traces at shutdown (tracing.ts). */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        pinoHttp: {
          level: config.logLevel,
          base: { service: 'enrollment-sync', app: process.env.APP_NAME ?? 'enrollment-sync' },
          redact: { paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.token'], censor: '[redacted]' },
          autoLogging: { ignore: (req) => /^\/(health|metrics)/.test(req.url ?? '') },
        },
      }),
    }),
  ],
  providers: [TracingShutdown],
  exports: [LoggerModule],
})
export class LoggingModule {}
