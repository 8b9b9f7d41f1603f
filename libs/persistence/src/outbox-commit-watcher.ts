import type { OutboxRow } from '@trellis/contracts';

/**
 * Hands the outbox rows of each committed transaction to a callback, right after COMMIT
 * (ADR 0007): the relay publishes them from memory instead of reading them back. The rows
 * come from `SqlTransaction` and `sqlAtomic`, the one way a service writes them; a failed
 * commit hands over nothing. It also holds the ids of published rows whose delete rides on
 * the next commit.
 */
export class OutboxCommitWatcher {
  private stopped = false;
  /** Ids of published rows whose delete rides on the next commit of this database. */
  private published: string[] = [];

  constructor(
    private readonly onCommitted: (rows: OutboxRow[]) => void,
    /** How long a row stays leased to this process for its direct publish. */
    readonly birthLeaseMs: number,
  ) {}

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

  /** Hands over the rows of a committed transaction. */
  committed(rows: OutboxRow[]): void {
    if (rows.length && this.active) this.onCommitted(rows);
  }

  stop(): void {
    this.stopped = true;
  }
}

/** Watchers by the ORM configuration of their `Database` (one per `Database`, whatever its forks), for `SqlTransaction` and `sqlAtomic`. */
export const commitWatchers = new WeakMap<object, OutboxCommitWatcher>();
