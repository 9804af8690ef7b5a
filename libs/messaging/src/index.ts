export * from './kafka-client';
export * from './kafka-security';
export * from './kafka.module';
export * from './dead-letters';
export * from './topic-replay';
export * from './poison-isolation';
export * from './failure-classification';
export * from './key-partitioner';
