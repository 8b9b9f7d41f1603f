import { Migration } from '@trellis/persistence';

/**
 * Every run start counts its project's running runs (the `maxRunningRuns` quota). Without
 * this partial index that count reads every run the project kept (30 days by default); with
 * it, only the running ones.
 */
export class PlannerRunningRuns extends Migration {
  override name = 'PlannerRunningRuns';

  override up(): void {
    this.addSql(`create index "run_project_running_index" on "planner"."run" ("project") where "status" = 'running';`);
  }
}
