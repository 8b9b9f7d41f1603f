import type { OutboxRow } from '@trellis/contracts';
import { logger } from '@trellis/telemetry';
import type { Database } from './database';
import { commitWatchers, OutboxCommitWatcher } from './outbox-commit-watcher';

/**
 * The DDL of the outbox table, for the initial migration of a service that publishes through
 * it: a message waiting to leave, written in the same transaction as the state change it
 * announces (`SqlTransaction.outbox`, `Database.sqlAtomic`), published by the relay with
 * `Nats-Msg-Id` = id.
 */
export function outboxTableSql(schema: string): string {
  return `create table "${schema}"."outbox" (
    "id" varchar(255) not null primary key,
    "subject" varchar(255) not null,
    "body" text not null,
    "headers" jsonb null,
    "created_at" timestamptz not null default now(),
    "claimed_until" timestamptz null
  );`;
}

/**
 * The relay's view of the outbox (structurally the messaging lib's `OutboxStore`). A claim is
 * a short lease, taken with `skip locked` so several relays never publish the same row at
 * once; a relay that dies mid-publish leaves its lease to expire and another publishes the
 * row again, which JetStream's dedupe window turns into a no-op. Published rows are deleted:
 * the events stream, not this table, is the history.
 */
export class PgOutboxStore {
  private watcher: OutboxCommitWatcher | undefined;
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Database,
    private readonly leaseMs = 30_000,
    /** How long a published row's delete waits for a commit to ride on before it is sent alone. */
    private readonly deleteDelayMs = 200,
  ) {}

  async claim(limit: number): Promise<OutboxRow[]> {
    const table = `"${this.db.schema}"."outbox"`;
    const rows = await this.db.orm.em.getConnection().execute<Array<{ id: string; subject: string; body: string; headers: Record<string, string> | null }>>(
      `update ${table} set claimed_until = now() + (? || ' milliseconds')::interval
       where id in (
         select id from ${table}
         where claimed_until is null or claimed_until < now()
         order by created_at, id
         limit ? for update skip locked)
       returning id, subject, body, headers`,
      [String(this.leaseMs), limit],
    );
    return rows.map((r) => ({ id: r.id, subject: r.subject, body: r.body, ...(r.headers ? { headers: r.headers } : {}) }));
  }

  /**
   * Deletes published rows. Their commit need not wait for the WAL flush
   * (`synchronous_commit = off` for this statement alone, ADR 0007): a delete lost in a
   * PostgreSQL crash only publishes the row again, which the stream's dedupe window drops.
   */
  async markPublished(ids: string[]): Promise<void> {
    if (!ids.length) return;
    if (this.watcher?.active) {
      // While this database commits, the deletes ride on its commits (no round trip of their
      // own); when it goes quiet, they are sent alone shortly after.
      this.watcher.addPublished(ids);
      this.flushTimer ??= setTimeout(() => {
        this.flushTimer = undefined;
        void this.deleteNow(this.watcher?.takePublished() ?? []);
      }, this.deleteDelayMs);
      this.flushTimer.unref();
      return;
    }
    await this.deleteNow(ids);
  }

  private async deleteNow(ids: string[]): Promise<void> {
    if (!ids.length) return;
    try {
      await this.deleteRows(ids);
    } catch (err) {
      // A failed delete only means the rows are published again after their lease (deduplicated).
      logger('persistence').warn({ err, rows: ids.length }, 'deleting published outbox rows failed; they will be published again, deduplicated');
    }
  }

  private async deleteRows(ids: string[]): Promise<void> {
    await this.db.orm.em.getConnection().execute(
      `delete from "${this.db.schema}"."outbox"
       where id in (${ids.map(() => '?').join(',')}) and (select set_config('synchronous_commit', 'off', true)) is not null`,
      ids,
    );
  }

  /**
   * Calls `onCommitted` with the outbox rows of every transaction of this database right
   * after it commits, and leases those rows to this process from birth for `birthLeaseMs`
   * (ADR 0007). Returns a function that stops watching.
   */
  watchCommits(onCommitted: (rows: OutboxRow[]) => void, birthLeaseMs = 5_000): () => void {
    const watcher = new OutboxCommitWatcher(onCommitted, birthLeaseMs);
    this.watcher = watcher;
    commitWatchers.set(this.db.orm.config, watcher);
    return () => {
      // A transaction already under way may still find it: silence it, and lease no more rows.
      watcher.stop();
      if (commitWatchers.get(this.db.orm.config) === watcher) commitWatchers.delete(this.db.orm.config);
    };
  }
}
