import { MikroORM, type EntitySchema, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import type { MigrationObject } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { logger } from '@trellis/telemetry';
import { Client, Pool, type QueryResult } from 'pg';
import { inSqlTransaction, sqlAtomic, type SqlTransaction } from './sql-transaction';
import type { OutboxRow } from '@trellis/contracts';

export type { EntityManager } from '@mikro-orm/postgresql';
export { Migration } from '@mikro-orm/migrations';

/** What a service needs to own its schema in the shared PostgreSQL database. */
export interface DatabaseOptions {
  /** `postgres://user:pass@host:port/db` */
  url: string;
  /** The owning service's schema (DESIGN §7): every table of the service lives in it. */
  schema: string;
  entities: EntitySchema<any, any>[];
  /** Committed migrations, in order; run at start under an advisory lock. */
  migrations: MigrationObject[];
  poolSize?: number;
  debug?: boolean;
}

/**
 * One service's handle on PostgreSQL: a MikroORM instance whose entities and migration
 * table live in the service's own schema. Handlers never use the global EntityManager:
 * they take `fork()` per message or request.
 */
export class Database {
  /** Plain connections for `sqlTransaction`, opened on first use. */
  private sqlPool: Pool | undefined;

  private constructor(
    readonly orm: MikroORM,
    readonly schema: string,
    private readonly url: string,
    private readonly poolSize: number,
  ) {}

  static async open(options: DatabaseOptions): Promise<Database> {
    const config: Options = {
      clientUrl: options.url,
      schema: options.schema,
      entities: options.entities,
      extensions: [Migrator],
      debug: options.debug ?? false,
      pool: { min: 1, max: options.poolSize ?? 10 },
      migrations: {
        migrationsList: options.migrations,
        tableName: 'mikro_orm_migrations',
        schema: options.schema,
        transactional: true,
        allOrNothing: true,
        snapshot: false,
        snapshotOnMigrate: false,
        silent: true,
      },
      // Our contracts are validated with zod at the boundaries; the ORM need not discover types by reflection.
      discovery: { warnWhenNoEntities: false },
      allowGlobalContext: false,
      ensureDatabase: false,
    };
    const orm = await MikroORM.init(config);
    const db = new Database(orm, options.schema, options.url, options.poolSize ?? 10);
    await db.migrate();
    return db;
  }

  /** A fresh EntityManager with its own identity map: one per message or request. */
  fork(): EntityManager {
    return this.orm.em.fork() as EntityManager;
  }

  /**
   * A transaction in two round trips, outside the ORM (see {@link SqlTransaction}): `open`
   * are read statements sent with `begin`, their results handed to `work`. For hot paths only;
   * everything else uses `fork()`.
   */
  async sqlTransaction<T>(open: string[], work: (tx: SqlTransaction, results: QueryResult[]) => Promise<T>): Promise<T> {
    const client = await this.pool().connect();
    return inSqlTransaction(client, this.schema, this.orm.config, open, work);
  }

  /** Statements and outbox rows in one round trip and one (implicit) transaction; see `sqlAtomic`. */
  async sqlAtomic(statements: readonly string[], outbox: readonly OutboxRow[] = []): Promise<QueryResult[]> {
    const client = await this.pool().connect();
    return sqlAtomic(client, this.schema, this.orm.config, statements, outbox);
  }

  /**
   * Statements in one round trip on the plain pool, outside the ORM (several in one message run
   * as one implicit transaction); one result per statement.
   */
  async sqlQuery(statements: readonly string[]): Promise<QueryResult[]> {
    const raw = (await this.pool().query(statements.join(';\n'))) as unknown as QueryResult | QueryResult[];
    return Array.isArray(raw) ? raw : [raw];
  }

  private pool(): Pool {
    if (!this.sqlPool) {
      this.sqlPool = new Pool({ connectionString: this.url, max: this.poolSize });
      // An idle connection the server drops must not crash the process; the next checkout reconnects.
      this.sqlPool.on('error', (err) => logger('persistence').warn({ err }, 'an idle connection failed'));
    }
    return this.sqlPool;
  }

  /**
   * Runs the committed migrations. Several replicas may start at once: a session-level
   * advisory lock keyed by the schema name, held on one dedicated connection for the whole
   * run (a pooled connection could differ between lock and unlock), makes them take turns,
   * and the loser finds nothing left to do. A process that dies mid-way closes the
   * connection, and with it the lock.
   */
  async migrate(): Promise<void> {
    await this.orm.em.getConnection().execute(`create schema if not exists "${this.schema}"`);
    const lock = new Client({ connectionString: this.url });
    await lock.connect();
    try {
      await lock.query('select pg_advisory_lock($1)', [lockKey(this.schema)]);
      const applied = await this.orm.migrator.up();
      if (applied.length) logger('persistence').info({ schema: this.schema, applied: applied.map((m) => m.name) }, 'migrations applied');
    } finally {
      await lock.end();
    }
  }

  /** Readiness: a real round trip, not the pool's idea of being connected. */
  async ping(): Promise<boolean> {
    try {
      await this.orm.em.getConnection().execute('select 1');
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.sqlPool?.end();
    await this.orm.close(true);
  }
}

/** A stable 32-bit key for the advisory lock of one schema's migrations. */
function lockKey(schema: string): number {
  let h = 0x811c9dc5;
  for (const ch of `trellis-migrate:${schema}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return h | 0;
}
