import type { EntityManager, EventSubscriber, TransactionEventArgs } from '@mikro-orm/postgresql';
import type { OutboxRow } from './outbox-row';

/**
 * Hands the outbox rows of each committed transaction to a callback, right after COMMIT
 * (ADR 0007): the relay publishes them from memory instead of reading them back. Rows are
 * tracked per transaction from `enqueueOutbox` to MikroORM's `afterTransactionCommit`; a
 * rollback forgets them. Rows written in a nested transaction (a savepoint) are not
 * tracked: they commit only with their parent, and the relay's poll publishes them.
 */
export class OutboxCommitWatcher implements EventSubscriber {
  private readonly pending = new WeakMap<object, OutboxRow[]>();
  private stopped = false;
  /** Ids of published rows whose delete rides on the next commit of this database. */
  private published: string[] = [];

  constructor(
    private readonly onCommitted: (rows: OutboxRow[]) => void,
    /** How long a tracked row stays leased to this process for its direct publish. */
    readonly birthLeaseMs: number,
  ) {}

  /** Starts tracking `row`; false when it cannot be tracked (a savepoint), so it must not be leased. */
  /** False once stopped: rows are no longer leased nor handed over. */
  get active(): boolean {
    return !this.stopped;
  }

  /** Queues the delete of published rows for the next commit (`takePublished`). */
  addPublished(ids: readonly string[]): void {
    this.published.push(...ids);
  }

  /** The queued deletes, for a commit about to be sent; `returnPublished` if it fails. */
  takePublished(): string[] {
    const ids = this.published;
    this.published = [];
    return ids;
  }

  returnPublished(ids: readonly string[]): void {
    this.published.unshift(...ids);
  }

  /** Hands over the rows of a transaction committed outside the ORM (`SqlTransaction`). */
  committed(rows: OutboxRow[]): void {
    if (rows.length && this.active) this.onCommitted(rows);
  }

  track(em: EntityManager, row: OutboxRow): boolean {
    if (!this.active) return false;
    const trx = em.getTransactionContext() as object | undefined;
    if (trx && 'savepointName' in trx) return false;
    const key = trx ?? em;
    const rows = this.pending.get(key);
    if (rows) rows.push(row);
    else this.pending.set(key, [row]);
    return true;
  }

  afterTransactionCommit(args: TransactionEventArgs): void {
    const rows = this.take(args);
    if (rows) this.committed(rows);
  }

  stop(): void {
    this.stopped = true;
  }

  afterTransactionRollback(args: TransactionEventArgs): void {
    this.take(args);
  }

  private take(args: TransactionEventArgs): OutboxRow[] | undefined {
    const trx = args.transaction as object | undefined;
    if (trx && 'savepointName' in trx) return undefined;
    for (const key of [trx, args.em]) {
      const rows = key && this.pending.get(key);
      if (rows) {
        this.pending.delete(key);
        return rows;
      }
    }
    return undefined;
  }
}

/** Watchers by ORM configuration (shared by every fork of one `Database`), for `enqueueOutbox`. */
export const commitWatchers = new WeakMap<object, OutboxCommitWatcher>();
