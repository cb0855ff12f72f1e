export * from './tenant-context';
export * from './request-context';
