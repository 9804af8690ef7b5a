export * from './enrollment-projector';
export * from './input-applier';
export * from './course-recompute';
export * from './create-projection';
export * from './projection.module';
export * from './deadline-sweep';
export * from './rebuild';
export * from './fact-retraction';
