// The public surface of @trellis/persistence: PostgreSQL databases and their migrations, creating and
// dropping them, the outbox store, SQL literals with group commit, and uuidv7 ids.

export { Migration, Database } from './database';
export type { EntityManager, DatabaseOptions } from './database';
export { ensureDatabaseExists, dropDatabase } from './ensure-database';
export { outboxTableSql, PgOutboxStore } from './pg-outbox-store';
export { uuidv7 } from './ids';
export { sqlLiteral, sqlTable, isUnstorable } from './sql-transaction';
export type { SqlKind } from './sql-transaction';
export { GroupCommit } from './group-commit';
export type { QueryResult as SqlResult } from 'pg';
