export * from './env-schema';
export * from './app-config';
export * from './topics-config';
export * from './connection-security';
export * from './config.module';
