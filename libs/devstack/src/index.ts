export * from './probe';
export * from './infrastructure';
export * from './service-process';
export * from './platform';
