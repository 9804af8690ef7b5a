import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { stopTracing } from './tracing';

/**
 * Flushes traces on shutdown. Application shutdown hooks run after every `beforeApplicationShutdown`
 * hook, i.e. after the workers' drain, so the spans of the drain itself are exported too.
 */
@Injectable()
export class TracingShutdown implements OnApplicationShutdown {
  async onApplicationShutdown(): Promise<void> {
    await stopTracing();
  }
}
