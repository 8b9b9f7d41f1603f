import { Migration } from '@trellis/persistence';

/**
 * The audit trail: one row per state-changing API call. Ids are UUIDv7 (time-ordered), so
 * pages go newest first by id alone; a project's records are read through its index.
 */
export class GatewayAudit extends Migration {
  override name = 'GatewayAudit';

  override up(): void {
    this.addSql(`create table "gateway"."audit_record" (
      "id" uuid primary key,
      "at" timestamptz not null default now(),
      "project" varchar(63) null,
      "actor" varchar(255) not null,
      "action" varchar(64) not null,
      "resource" varchar(400) null,
      "outcome" varchar(16) not null,
      "status" int not null,
      "error" varchar(64) null);`);
    this.addSql(`create index "audit_record_project_index" on "gateway"."audit_record" ("project", "id" desc);`);
    this.addSql(`create index "audit_record_resource_index" on "gateway"."audit_record" ("resource", "id" desc);`);
  }
}
