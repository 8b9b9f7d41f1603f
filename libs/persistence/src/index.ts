export * from './database';
export * from './ensure-database';
export * from './outbox';
export * from './ids';
export * from './sql-transaction';
