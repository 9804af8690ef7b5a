import { ArgumentsHost, BadRequestException, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import type { Request, Response } from 'express';
import { classifyFailure } from '@app/messaging';
import { undecodablePathMessage } from './params';
import { MethodNotAllowedException } from './method-not-allowed';
import { RetryLaterException } from './retry-later.exception';

/** What a client is told to wait before retrying while the database is unavailable. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/**
 * Every error leaves as `{ statusCode, error, message }`. Errors the code did not raise on
 * purpose never show their text (it may name hosts, SQL or stack frames): a database that is
 * down or out of connections (`classifyFailure`: transient, or a conflict that a retry clears)
 * is a 503 with Retry-After, anything else a generic 500, logged in full.
 */
@Catch()
export class JsonErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('read-api');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    let statusCode: number = HttpStatus.INTERNAL_SERVER_ERROR;
    let message = 'internal server error';
    let retryAfter: number | undefined;
    if (exception instanceof HttpException) {
      statusCode = exception.getStatus();
      const body = exception.getResponse();
      const m = typeof body === 'string' ? body : (body as { message?: unknown }).message;
      message = Array.isArray(m) ? m.join('; ') : typeof m === 'string' ? m : exception.message;
      if (exception instanceof RetryLaterException) retryAfter = exception.retryAfterSeconds;
      // Express's own 400s echo the raw input: say what was wrong instead.
      if (exception instanceof BadRequestException && exception.cause instanceof URIError) {
        message = undecodablePathMessage(host.switchToHttp().getRequest<Request>().originalUrl ?? '');
      } else if (exception instanceof BadRequestException && exception.cause instanceof SyntaxError) {
        message = 'the request body is not valid JSON (no route of this API takes a body)';
      }
    } else if (classifyFailure(exception) !== 'poison') {
      statusCode = HttpStatus.SERVICE_UNAVAILABLE;
      message = 'the database is unavailable; retry later';
      retryAfter = DATABASE_RETRY_AFTER_SECONDS;
      this.logger.warn(`answered 503: ${exception instanceof Error ? exception.message : String(exception)}`);
    } else {
      this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    }
    if (res.headersSent) return;
    if (retryAfter !== undefined) res.setHeader('Retry-After', String(retryAfter));
    if (exception instanceof MethodNotAllowedException) res.setHeader('Allow', exception.allow);
    res.status(statusCode).json({ statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message });
  }
}
