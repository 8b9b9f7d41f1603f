// The public surface of @trellis/persistence: PostgreSQL pools and databases, the outbox store,
// SQL transactions with group commit, and id generation.

export { Migration, Database } from './database';
export type { EntityManager, DatabaseOptions } from './database';
export { ensureDatabaseExists, dropDatabase } from './ensure-database';
export { outboxTableSql, PgOutboxStore } from './pg-outbox-store';
export { uuidv7 } from './ids';
export { sqlLiteral, sqlTable, isUnstorable } from './sql-transaction';
export type { SqlKind } from './sql-transaction';
export { GroupCommit } from './group-commit';
export type { QueryResult as SqlResult } from 'pg';
