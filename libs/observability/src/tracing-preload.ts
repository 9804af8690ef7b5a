import { startTracing } from './tracing';

// Imported first by each app's main.ts: instrumentation only patches modules loaded after it.
startTracing();
