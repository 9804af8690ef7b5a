import { ArgumentsHost, Catch, RpcExceptionFilter } from '@nestjs/common';
import { Observable, throwError } from 'rxjs';

/**
 * Nest's default RPC exception filter logs an unknown error and replaces it with
 * `{ status: 'error', message: 'Internal server error' }`. The batch transport decides what a
 * failure means (retry a transient one, never commit past it) from the error itself
 * (`classifyFailure`), so a slice handler's error must reach it unchanged.
 */
@Catch()
export class FailurePassthroughFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    return throwError(() => exception);
  }
}
