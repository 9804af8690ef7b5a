export * from './input-events';
export * from './synthetic';
export * from './verification';
export * from './slot-ownership';
