import { Migration } from '@trellis/persistence';

/** What the orchestrator model said of a spec, cached by its hash; the templates a run pinned. */
export class PlannerAnalysis extends Migration {
  override name = 'PlannerAnalysis';

  override up(): void {
    this.addSql(`create table "planner"."pipeline_analysis" (
      "hash" varchar(64) primary key references "planner"."spec" ("hash"),
      "model" varchar(200) not null,
      "intention" text not null,
      "architecture" text not null,
      "aligned" boolean not null,
      "feedback" text not null,
      "created_at" timestamptz not null default now());`);
    // The registry templates a run pinned at start (with their bodies): label moves never reach a running run.
    this.addSql(`alter table "planner"."run" add column "templates" jsonb not null default '[]';`);
    this.addSql(`alter table "planner"."run" add column "subject" varchar(500) null;`);
    this.addSql(`alter table "planner"."run" add column "cost" double precision not null default 0;`);
    this.addSql(`alter table "planner"."step_run" add column "cost" double precision not null default 0;`);
  }
}
