import { Migration } from '@trellis/persistence';

/** A project's share of busy executors and its budgets per UTC day (ADR 0014); null: the default. */
export class GatewayProjectAdmission extends Migration {
  override name = 'GatewayProjectAdmission';

  override up(): void {
    this.addSql(`alter table "gateway"."project" add column "weight" int null, add column "max_tokens_per_day" bigint null, add column "max_cost_per_day" double precision null;`);
  }
}
