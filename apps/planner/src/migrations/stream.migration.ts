import { Migration } from '@trellis/persistence';

/** Runs may ask for streamed model answers (token progress); off for every existing run. */
export class PlannerStream extends Migration {
  override name = 'PlannerStream';

  override up(): void {
    this.addSql(`alter table "planner"."run" add column "stream" boolean not null default false;`);
  }
}
