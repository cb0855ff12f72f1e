export * from './tenant-context';
export * from './request-context';
export * from './request-stages';
