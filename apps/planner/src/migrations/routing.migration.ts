import { Migration } from '@trellis/persistence';

/** Routing, structured outputs and products (pipeline language v1). */
export class PlannerRouting extends Migration {
  override name = 'PlannerRouting';

  override up(): void {
    this.addSql(`alter table "planner"."step_run" add column "activated" boolean not null default false;`);
    this.addSql(`alter table "planner"."step_run" add column "structured" jsonb null;`);
    this.addSql(`alter table "planner"."run" add column "products" jsonb not null default '[]';`);
  }
}
