export * from './data-source';
export * from './persistence.module';
export { MIGRATIONS } from './migrations';
export * from './repositories/sql';
export * from './repositories/processed-events.repository';
export * from './repositories/fact.repository';
export * from './repositories/enrollment.repository';
export * from './repositories/course-member-stats.repository';
export * from './repositories/outbox.repository';
export * from './repositories/recompute-request.repository';
export * from './notifications/pg-notification-listener';
export * from './stores/outbox.store';
export * from './stores/recompute-request.store';
export * from './stores/advisory-lock-session';

