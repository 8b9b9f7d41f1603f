import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { ProductView } from '@trellis/contracts';
import { Database } from '@trellis/persistence';
import { logger } from '@trellis/telemetry';
import { PLANNER_CONFIG, type PlannerConfig } from '../config';
import { ProductStore } from './product-store';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Rows deleted per statement: short transactions, no long lock on the run table. */
const BATCH = 500;
/** An advisory lock key of its own: with several planner replicas, one sweeps at a time. */
const SWEEP_LOCK = 0x7472_6574; // "tret"

/**
 * Bounded state for run history: deletes runs that finished more than
 * PLANNER_RUN_RETENTION_DAYS ago (their step runs go with them, `on delete cascade`; their
 * product files are deleted from the object store), in batches, from one planner replica at a
 * time. A running run is never touched, whatever its age; a resumed run has no `finished_at`
 * until it finishes again. Events of those runs age out of the events stream on their own
 * (TRELLIS_EVENTS_MAX_AGE_MS).
 */
@Injectable()
export class RunRetention implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = logger('planner.retention');
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> | undefined;
  private readonly retentionDays: number;
  private readonly intervalMs: number;

  constructor(
    @Inject(PLANNER_CONFIG) config: PlannerConfig,
    private readonly db: Database,
    private readonly products: ProductStore,
  ) {
    this.retentionDays = config.PLANNER_RUN_RETENTION_DAYS;
    this.intervalMs = config.PLANNER_RETENTION_INTERVAL_MS;
  }

  onApplicationBootstrap(): void {
    if (this.retentionDays <= 0) return;
    const tick = () => {
      this.sweeping ??= this.sweep()
        .catch((err: unknown) => this.log.warn({ err }, 'run retention sweep failed; next one in an interval'))
        .finally(() => (this.sweeping = undefined));
    };
    // Not at once: a starting planner has runs to resume first.
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }

  /**
   * Deletes every run finished before `now - retention`; returns how many. Another replica
   * sweeping at the same time makes this one return 0 at once.
   */
  async sweep(now: Date = new Date()): Promise<number> {
    if (this.retentionDays <= 0) return 0;
    const cutoff = new Date(now.getTime() - this.retentionDays * DAY_MS);
    const conn = this.db.orm.em.getConnection();
    const table = `"${this.db.schema}"."run"`;
    return conn.transactional(async (tx) => {
      const [lock] = await conn.execute<Array<{ ok: boolean }>>('select pg_try_advisory_xact_lock(?) as ok', [SWEEP_LOCK], 'all', tx);
      if (!lock?.ok) return 0;
      let deleted = 0;
      for (;;) {
        const rows = await conn.execute<Array<{ id: string; products: ProductView[] }>>(
          `delete from ${table} where id in (
             select id from ${table}
             where status <> 'running' and finished_at is not null and finished_at < ?
             order by finished_at limit ? for update skip locked)
           returning id, products`,
          [cutoff, BATCH],
          'all',
          tx,
        );
        // Before the commit: a failure here rolls the batch back and the next sweep tries again,
        // so a product file never outlives its run (at worst a run past retention outlives its files).
        await this.products.delete(rows);
        deleted += rows.length;
        if (rows.length < BATCH) break;
      }
      if (deleted) this.log.info({ deleted, cutoff: cutoff.toISOString() }, 'finished runs past retention deleted');
      return deleted;
    });
  }
}
