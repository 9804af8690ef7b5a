export * from './logging.module';
export * from './metrics-registry';
export * from './metrics';
export * from './pipeline-metrics';
export * from './bootstrap';
export * from './pipeline-tracing';
