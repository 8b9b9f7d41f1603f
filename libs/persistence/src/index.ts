export * from './database';
export * from './ensure-database';
export { PgOutboxStore, outboxTableSql } from './pg-outbox-store';
export * from './ids';
export { isUnstorable, sqlLiteral, sqlTable, SqlTransaction, type SqlKind } from './sql-transaction';
export { GroupCommit } from './group-commit';
export type { QueryResult as SqlResult } from 'pg';
