import { Migration } from '@trellis/persistence';

/**
 * A step's row is updated two or three times in its life and its run's row once per commit
 * that touches it. None of those updates was a HOT update (PostgreSQL's in-page update that
 * writes no index entry): `step_run_queued_index` names `status` in its predicate, so every
 * status change had to update every index of the table, and full pages (fillfactor 100) left
 * no room for the new version next to the old one. The index goes — the one query it served,
 * the held steps at start, reads the running runs first (their partial index) and their steps
 * by primary key — and both tables keep 30% of each page free for updates.
 */
export class PlannerHotUpdates extends Migration {
  override name = 'PlannerHotUpdates';

  override up(): void {
    this.addSql(`drop index if exists "planner"."step_run_queued_index";`);
    this.addSql(`alter table "planner"."step_run" set (fillfactor = 70);`);
    this.addSql(`alter table "planner"."run" set (fillfactor = 70);`);
  }
}
