import { All, applyDecorators, HttpException, HttpStatus } from '@nestjs/common';
import { Public } from './auth.guard';

/** Every route of the read API reads; Express answers HEAD from the GET handler. */
export const ALLOWED_METHODS = 'GET, HEAD';

/** Sent with `Allow` by JsonErrorFilter. */
export class MethodNotAllowedException extends HttpException {
  readonly allow = ALLOWED_METHODS;
  constructor(method: string) {
    super(`${method} is not allowed here; use GET or HEAD`, HttpStatus.METHOD_NOT_ALLOWED);
  }
}

/**
 * Marks the handler that answers 405 for any other method on `paths` (the controller's GET
 * routes). Declared after the GET handlers, so Express tries them first. Open to anyone: a wrong
 * method is wrong whoever sends it, and the routes are public in the OpenAPI document anyway.
 */
export const OtherMethods = (...paths: string[]): MethodDecorator => applyDecorators(Public(), All(paths));
