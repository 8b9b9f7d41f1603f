import { Migration } from '@trellis/persistence';

/**
 * Admission and fair dispatch (ADR 0014): a run's priority and concurrency group, when it
 * began; the project settings the planner enforces (the gateway owns projects and sends them
 * with every start); indexes for the queue of runs (by priority, then submission), the running
 * runs of a group, and the steps held for a dispatch slot.
 */
export class PlannerAdmission extends Migration {
  override name = 'PlannerAdmission';

  override up(): void {
    this.addSql(`alter table "planner"."run" add column "priority" int not null default 3;`);
    this.addSql(`alter table "planner"."run" add column "concurrency_key" text null;`);
    this.addSql(`alter table "planner"."run" add column "started_at" timestamptz null;`);
    this.addSql(`update "planner"."run" set "started_at" = "created_at";`);
    this.addSql(`create index "run_queue_index" on "planner"."run" ("project", "priority" desc, "id" collate "C") where "status" = 'queued';`);
    this.addSql(`create index "run_group_running_index" on "planner"."run" ("project", "concurrency_key") where "status" = 'running' and "concurrency_key" is not null;`);
    this.addSql(`create index "step_run_queued_index" on "planner"."step_run" ("run_id") where "status" = 'queued';`);
    this.addSql(`create table "planner"."project_admission" (
      "project" varchar(63) primary key,
      "max_running" int not null,
      "weight" int not null default 1,
      "max_tokens_per_day" bigint null,
      "max_cost_per_day" double precision null,
      "updated_at" timestamptz not null default now());`);
  }
}
