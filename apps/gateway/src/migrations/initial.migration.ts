import { Migration, outboxTableSql } from '@trellis/persistence';
import { GatewayNoOutbox } from './no-outbox.migration';
import { GatewayAudit } from './audit.migration';
import { GatewayProjectAdmission } from './project-admission.migration';
import { GatewayRecording } from './recording.migration';

export class GatewayInitial extends Migration {
  override name = 'GatewayInitial';

  override up(): void {
    this.addSql(`create table "gateway"."project" (
      "id" varchar(63) primary key,
      "name" varchar(200) not null,
      "max_running_runs" int null,
      "created_at" timestamptz not null default now());`);
    // Only the SHA-256 of a key is stored; the prefix lets a user recognise a key in a list.
    this.addSql(`create table "gateway"."api_key" (
      "id" varchar(36) primary key,
      "project" varchar(63) not null references "gateway"."project" ("id"),
      "name" varchar(200) not null,
      "prefix" varchar(32) not null,
      "hash" varchar(64) not null unique,
      "rate_limit_per_minute" int null,
      "created_at" timestamptz not null default now(),
      "revoked_at" timestamptz null);`);
    this.addSql(`create index "api_key_project_index" on "gateway"."api_key" ("project");`);
    // run_id is null while the first request with the key is still starting its run.
    this.addSql(`create table "gateway"."idempotency_key" (
      "project" varchar(63) not null,
      "key" varchar(255) not null,
      "body_hash" varchar(64) not null,
      "run_id" varchar(36) null,
      "created_at" timestamptz not null default now(),
      primary key ("project", "key"));`);
    this.addSql(outboxTableSql('gateway'));
  }
}

export const GATEWAY_MIGRATIONS = [
  { name: 'GatewayInitial', class: GatewayInitial },
  { name: 'GatewayAudit', class: GatewayAudit },
  { name: 'GatewayProjectAdmission', class: GatewayProjectAdmission },
  { name: 'GatewayRecording', class: GatewayRecording },
  { name: 'GatewayNoOutbox', class: GatewayNoOutbox },
];
