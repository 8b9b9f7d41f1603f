export * from './database';
export * from './ensure-database';
export * from './outbox';
export * from './ids';
export { sqlLiteral, sqlTable, SqlTransaction, type SqlKind } from './sql-transaction';
