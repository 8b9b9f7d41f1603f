import { Migration } from '@trellis/persistence';

/**
 * A round's "revised the best earlier candidate" was stored as `examplesReused`; it is
 * `revisedBest` now (one name per concept: the verdict's `reviseBest` asks for it). The key
 * is renamed in the text, not through jsonb, which would reorder the keys of the candidates'
 * structured outputs (the reason the column is `json`, see PlannerOrderedJson).
 */
export class PlannerRevisedBest extends Migration {
  override name = 'PlannerRevisedBest';

  override up(): void {
    this.addSql(`update "planner"."step_run" set "iterations" = replace("iterations"::text, '"examplesReused":', '"revisedBest":')::json where "iterations"::text like '%"examplesReused":%';`);
  }
}
