import { Migration } from '@trellis/persistence';

/**
 * Recordings and replays (ADR 0015): whether a run records its calls, where a replay comes
 * from and the recorded answers it pinned, which steps it carried over or answered from the
 * recording, and the recording itself (`step_call`, deleted with its run).
 */
export class PlannerReplay extends Migration {
  override name = 'PlannerReplay';

  override up(): void {
    this.addSql(`alter table "planner"."run" add column "recording" boolean not null default true;`);
    this.addSql(`alter table "planner"."run" add column "source" jsonb null;`);
    this.addSql(`alter table "planner"."run" add column "replay_calls" json not null default '[]';`);
    this.addSql(`alter table "planner"."step_run" add column "origin" varchar(16) null;`);
    this.addSql(`create table "planner"."step_call" (
      "run_id" varchar(36) not null references "planner"."run" ("id") on delete cascade,
      "step_id" varchar(64) not null,
      "attempt" int not null,
      "iteration" int not null,
      "call" varchar(32) not null,
      "request" json not null,
      "answer" json not null,
      "at" timestamptz not null,
      primary key ("run_id", "step_id", "attempt", "call"));`);
  }
}
