import { Migration } from '@trellis/persistence';

/**
 * A run's inputs and its steps' structured outputs (and the rounds that keep them) come back
 * as they were written: `json` keeps object keys in their order, where `jsonb` sorts them. A
 * CSV product's columns, a JSON product's fields and the run view follow the data's order.
 */
export class PlannerOrderedJson extends Migration {
  override name = 'PlannerOrderedJson';

  override up(): void {
    this.addSql(`alter table "planner"."run" alter column "inputs" type json using "inputs"::json;`);
    this.addSql(`alter table "planner"."step_run" alter column "structured" type json using "structured"::json;`);
    this.addSql(`alter table "planner"."step_run" alter column "iterations" drop default, alter column "iterations" type json using "iterations"::json, alter column "iterations" set default '[]';`);
  }
}
