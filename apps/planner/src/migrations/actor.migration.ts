import { Migration } from '@trellis/persistence';

/** Who started a run (the API key's id, as in the gateway's audit trail); unknown for earlier runs. */
export class PlannerRunActor extends Migration {
  override name = 'PlannerRunActor';

  override up(): void {
    this.addSql(`alter table "planner"."run" add column "actor" varchar(255) null;`);
  }
}
