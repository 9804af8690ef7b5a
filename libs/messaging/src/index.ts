export * from './kafka-client';
export * from './kafka-security';
export * from './kafka.module';
export * from './dead-letters';
export * from './topic-replay';
export * from './failure-classification';
