import { Migration } from '@trellis/persistence';

/**
 * The orchestrator's prompts as registry templates, and strategy experiments (ADR 0012): a
 * run records the strategy variants it was given; the analysis cache is keyed by the spec and
 * the prompt that asked (an override per project or feature is another prompt), and a
 * pipeline version names the analysis it shows.
 */
export class PlannerOrchestration extends Migration {
  override name = 'PlannerOrchestration';

  override up(): void {
    this.addSql(`alter table "planner"."run" add column "strategies" jsonb not null default '[]';`);
    this.addSql(`alter table "planner"."pipeline_analysis" add column "prompt" varchar(64) not null default '';`);
    this.addSql(`alter table "planner"."pipeline_analysis" drop constraint "pipeline_analysis_pkey";`);
    this.addSql(`alter table "planner"."pipeline_analysis" add primary key ("hash", "prompt");`);
    this.addSql(`alter table "planner"."pipeline" add column "analysis_prompt" varchar(64) null;`);
  }
}
