import { Migration } from '@trellis/persistence';

/**
 * The planner's run cache (ADR 0011): each run carries the number of changes applied to it,
 * and a write that expects a version another writer has moved fails the whole transaction
 * with a serialization failure (40001), which makes the planner reload the run and decide
 * again. `expect_rows` is that check, usable inside one multi-statement round trip.
 */
export class PlannerRunVersion extends Migration {
  override name = 'PlannerRunVersion';

  override up(): void {
    this.addSql(`alter table "planner"."run" add column "version" int not null default 0;`);
    this.addSql(`create function "planner"."expect_rows"(actual bigint, expected bigint) returns void language plpgsql as $fn$
begin
  if actual <> expected then
    raise exception 'runs changed under this planner: % of % matched the version it expected', actual, expected using errcode = '40001';
  end if;
end $fn$;`);
  }
}
