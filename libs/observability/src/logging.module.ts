import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DynamicModule, Module } from '@nestjs/common';
import type { Request } from 'express';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import type { Options } from 'pino-http';
import { APP_CONFIG, AppConfig } from '@app/config';
import { TracingShutdown } from './tracing-shutdown';

/**
 * Where log lines go: pino's default (stdout) when this provides null, as it does; a test that
 * reads the lines overrides it with a stream.
 */
export const LOG_DESTINATION = Symbol('LOG_DESTINATION');

/** The route label of requests no route matched. */
export const UNMATCHED_ROUTE = 'unmatched';

export interface LoggingOptions {
  /** The route pattern a request line names; by default the Express route that matched. */
  route?: (req: Request) => string;
}

const matchedRoute = (req: Request): string => {
  const path: unknown = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? path : UNMATCHED_ROUTE;
};

/**
 * pino-http's options. One line per request, when it ends: `reqId`, `method`, `route` (the
 * pattern, e.g. `/api/v2/course/:courseId/users`), `status` and `durationMs`. The URL is left out
 * (its ids and query values can be personal data or secrets), and so are the headers and the
 * client's address; logs made while handling a request carry its `reqId` only.
 */
export function pinoHttpOptions(config: AppConfig, options: LoggingOptions = {}): Options {
  const route = options.route ?? matchedRoute;
  const line = (req: IncomingMessage, res: ServerResponse, durationMs: unknown) => ({
    method: req.method,
    route: route(req as Request),
    status: res.statusCode,
    durationMs,
  });
  return {
    level: config.logLevel,
    base: { service: 'enrollment-sync', app: process.env.APP_NAME ?? 'enrollment-sync' },
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.token'], censor: '[redacted]' },
    // Unique across replicas, unlike pino-http's per-process counter.
    genReqId: () => randomUUID(),
    quietReqLogger: true,
    quietResLogger: true,
    customSuccessObject: (req, res, val: { responseTime?: unknown }) => line(req, res, val.responseTime),
    customErrorObject: (req, res, err: Error | undefined, val: { responseTime?: unknown }) => ({
      ...line(req, res, val.responseTime),
      error: err?.message,
    }),
    autoLogging: { ignore: (req) => /^\/(health|metrics)/.test(req.url ?? '') },
  };
}

/** Structured JSON logs; credentials never reach them. Also flushes traces at shutdown (tracing.ts). */
@Module({})
export class LoggingModule {
  static forRoot(options: LoggingOptions = {}): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRootAsync({
          inject: [APP_CONFIG, LOG_DESTINATION],
          providers: [{ provide: LOG_DESTINATION, useValue: null }],
          useFactory: (config: AppConfig, destination: DestinationStream | null) => {
            const pinoHttp = pinoHttpOptions(config, options);
            return { pinoHttp: destination ? ([pinoHttp, destination] as [Options, DestinationStream]) : pinoHttp };
          },
        }),
      ],
      providers: [TracingShutdown],
      exports: [LoggerModule],
    };
  }
}
