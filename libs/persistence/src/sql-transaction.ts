import type { PoolClient, QueryResult } from 'pg';
import { commitWatchers } from './outbox-commit-watcher';
import type { OutboxRow } from '@trellis/contracts';

/**
 * How a value is written as an SQL literal. `json` is for `jsonb` columns; `ordered-json` for
 * `json` columns, which keep the text as written (object keys in their order: a CSV product's
 * columns, say), where `jsonb` reorders them.
 */
export type SqlKind = 'text' | 'int' | 'float' | 'bool' | 'json' | 'ordered-json' | 'time';

/**
 * An SQL literal for `value`. Hot paths send their statements with the simple query protocol,
 * several per round trip, which takes no bind parameters: every value goes through here
 * ({@link quoteLiteral}), never through string concatenation.
 */
export function sqlLiteral(value: unknown, kind: SqlKind): string {
  if (value === null || value === undefined) return 'null';
  switch (kind) {
    case 'text':
      return quoteLiteral(String(value));
    case 'int':
    case 'float': {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new TypeError(`not a finite number: ${String(value)}`);
      return kind === 'int' ? String(Math.trunc(n)) : String(n);
    }
    case 'bool':
      return value ? 'true' : 'false';
    case 'json':
      return `${quoteLiteral(JSON.stringify(value))}::jsonb`;
    case 'ordered-json':
      return `${quoteLiteral(JSON.stringify(value))}::json`;
    case 'time':
      return `${quoteLiteral((value instanceof Date ? value : new Date(String(value))).toISOString())}::timestamptz`;
  }
}

/**
 * `text` as a string literal, exactly as pg's `escapeLiteral` writes it: quotes doubled, and
 * when it holds a backslash, backslashes doubled in an `E'…'` literal. pg's loop appends one
 * character at a time; the planner quotes every outbox body and step output of a commit, and
 * native `replaceAll` does the same for a fraction of the CPU.
 */
export function quoteLiteral(text: string): string {
  const quoted = text.includes("'") ? text.replaceAll("'", "''") : text;
  return text.includes('\\') ? ` E'${quoted.replaceAll('\\', '\\\\')}'` : `'${quoted}'`;
}

/** A quoted, schema-qualified table name. */
export function sqlTable(schema: string, table: string): string {
  return `"${schema.replaceAll('"', '""')}"."${table.replaceAll('"', '""')}"`;
}

/**
 * A transaction on one pooled connection that costs two round trips: the opening statements
 * (`begin` and the reads, sent together) and the closing ones (every write, the outbox rows
 * and `commit`, sent together). It is for the few paths where the ORM's statement-per-change
 * round trips are the cost that matters (the planner applying a step result).
 *
 * Outbox rows go into the same commit. When a relay watches this database's commits
 * (ADR 0007), they are born leased to this process, by the database clock, and handed to it
 * right after the commit.
 */
export class SqlTransaction {
  private readonly statements: string[] = [];
  private readonly rows: OutboxRow[] = [];
  private done = false;

  constructor(
    private readonly client: PoolClient,
    private readonly schema: string,
    private readonly ormConfig: object,
  ) {}

  /** Reads inside the transaction, in one round trip; one result per statement. */
  async read(statements: readonly string[]): Promise<QueryResult[]> {
    const raw = (await this.client.query(statements.join(';\n'))) as unknown as QueryResult | QueryResult[];
    return Array.isArray(raw) ? raw : [raw];
  }

  /** Queues a write; it is sent with the commit. */
  write(statement: string): void {
    this.statements.push(statement);
  }

  /** Queues a message for the outbox; it commits (or not) with the writes. */
  outbox(row: OutboxRow): void {
    this.rows.push(row);
  }

  /** Sends every queued write, the outbox rows and `commit` in one round trip. */
  async commit(): Promise<void> {
    this.done = true;
    const outbox = outboxInsert(this.schema, this.ormConfig, this.rows);
    try {
      await this.client.query([...this.statements, ...outbox.statements, 'commit'].join(';\n'));
    } catch (err) {
      outbox.failed();
      throw err;
    }
    outbox.committed();
  }

  /** Ends the transaction without writing anything. */
  async rollback(): Promise<void> {
    this.done = true;
    await this.client.query('rollback');
  }

  get finished(): boolean {
    return this.done;
  }
}

/**
 * The insert of `rows` into the outbox, and what to do once it committed or failed: when a
 * relay watches this database's commits (ADR 0007), the rows are born leased to this process,
 * by the database clock, and handed to it right after the commit; and the rows it published
 * since the last commit are deleted by this one (no round trip of their own while commits
 * keep coming), or queued again if it fails.
 */
function outboxInsert(schema: string, ormConfig: object, rows: readonly OutboxRow[]): { statements: string[]; committed: () => void; failed: () => void } {
  const watcher = commitWatchers.get(ormConfig);
  const published = watcher?.active ? watcher.takePublished() : [];
  const statements: string[] = [];
  if (published.length) statements.push(`delete from ${sqlTable(schema, 'outbox')} where "id" in (${published.map((id) => sqlLiteral(id, 'text')).join(', ')})`);
  const lease = watcher?.active ? `now() + interval '${Math.max(0, Math.trunc(watcher.birthLeaseMs))} milliseconds'` : 'null';
  if (rows.length) {
    const values = rows.map((r) => `(${sqlLiteral(r.id, 'text')}, ${sqlLiteral(r.subject, 'text')}, ${sqlLiteral(r.body, 'text')}, ${sqlLiteral(r.headers ?? null, 'json')}, ${lease})`);
    statements.push(`insert into ${sqlTable(schema, 'outbox')} ("id", "subject", "body", "headers", "claimed_until") values ${values.join(', ')}`);
  }
  return {
    statements,
    committed: () => {
      if (rows.length && lease !== 'null') watcher?.committed([...rows]);
    },
    failed: () => {
      if (published.length) watcher?.returnPublished(published);
    },
  };
}

/**
 * Sends `statements` and the outbox rows as one round trip and one transaction: several
 * statements in one simple-protocol query run as an implicit transaction, all or nothing.
 * For a change whose reads are not needed (the planner's cached runs, guarded by a version
 * check that fails the transaction). Returns the statements' results.
 */
export async function sqlAtomic(client: PoolClient, schema: string, ormConfig: object, statements: readonly string[], rows: readonly OutboxRow[]): Promise<QueryResult[]> {
  let broken: Error | undefined;
  const outbox = outboxInsert(schema, ormConfig, rows);
  try {
    const raw = (await client.query([...statements, ...outbox.statements].join(';\n'))) as unknown as QueryResult | QueryResult[];
    outbox.committed();
    return Array.isArray(raw) ? raw : [raw];
  } catch (err) {
    outbox.failed();
    // A server error aborts the implicit transaction and leaves the connection usable; anything else does not.
    if (!(err instanceof Error && 'code' in err && typeof (err as { code: unknown }).code === 'string' && (err as { severity?: unknown }).severity !== undefined)) {
      broken = err instanceof Error ? err : new Error(String(err));
    }
    throw err;
  } finally {
    client.release(broken);
  }
}

/**
 * Runs `work` in a {@link SqlTransaction}: `open` (the reads, without `begin`) is sent with
 * `begin` in one round trip and its results are handed to `work`. `work` ends the transaction
 * with `commit()` or `rollback()`; if it throws or returns without doing either, the
 * transaction is rolled back. A connection that failed mid-way is discarded, not reused.
 */
export async function inSqlTransaction<T>(
  client: PoolClient,
  schema: string,
  ormConfig: object,
  open: string[],
  work: (tx: SqlTransaction, results: QueryResult[]) => Promise<T>,
): Promise<T> {
  const tx = new SqlTransaction(client, schema, ormConfig);
  let broken: Error | undefined;
  try {
    const raw = (await client.query(['begin', ...open].join(';\n'))) as unknown as QueryResult | QueryResult[];
    const results = Array.isArray(raw) ? raw.slice(1) : [];
    const value = await work(tx, results);
    if (!tx.finished) await tx.rollback();
    return value;
  } catch (err) {
    if (!tx.finished) {
      await client.query('rollback').catch((e: unknown) => {
        broken = e instanceof Error ? e : new Error(String(e));
      });
    } else {
      // A failed commit leaves the connection in an unknown state: drop it.
      broken = err instanceof Error ? err : new Error(String(err));
    }
    throw err;
  } finally {
    client.release(broken);
  }
}

/**
 * Whether PostgreSQL refused the data itself (SQLSTATE class 22, "data exception": a value
 * too long, a NUL character in text, an invalid escape in JSON; or 08P01, which a NUL byte
 * inside a statement sent with the simple protocol causes). Sending the same data again
 * fails the same way: retrying cannot help.
 */
export function isUnstorable(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && (code.startsWith('22') || code === '08P01');
}
