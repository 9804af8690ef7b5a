export * from './input-events';
export * from './synthetic';
