export * from './input-events';
export * from './synthetic';
export * from './verification';
