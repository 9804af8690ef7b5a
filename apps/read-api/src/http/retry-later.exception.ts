import { HttpException, HttpStatus } from '@nestjs/common';

/** An HTTP error that tells the client when to come back: sent with `Retry-After` by JsonErrorFilter. */
export class RetryLaterException extends HttpException {
  constructor(
    status: HttpStatus.TOO_MANY_REQUESTS | HttpStatus.SERVICE_UNAVAILABLE,
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message, status);
  }
}
