import { Migration } from '@trellis/persistence';

/** The verification loop's rounds per step (telemetry and the candidates kept), and why the loop stopped. */
export class PlannerIterations extends Migration {
  override name = 'PlannerIterations';

  override up(): void {
    this.addSql(`alter table "planner"."step_run" add column "iterations" jsonb not null default '[]';`);
    this.addSql(`alter table "planner"."step_run" add column "stop_reason" varchar(32) null;`);
  }
}
