import { Migration, outboxTableSql } from '@trellis/persistence';
import { RegistryNoOutbox } from './no-outbox.migration';
import { RegistryRunProject } from './run-project.migration';
import { RegistryStrategyExperiments } from './strategy-experiments.migration';

/**
 * The registry's schema (DESIGN §7): templates per level, their immutable versions, labels,
 * what each run was given, experiments, the variant each run was assigned, and what the
 * events said about it.
 */
export class RegistryInitial extends Migration {
  override name = 'RegistryInitial';

  override up(): void {
    // One row per template per level: (null, null) global, (p, null) project, (p, f) feature.
    this.addSql(`create table "registry"."template" (
      "id" varchar(36) primary key,
      "project" varchar(63) null,
      "feature" varchar(63) null,
      "name" varchar(100) not null,
      "category" varchar(16) not null,
      "created_at" timestamptz not null default now(),
      "updated_at" timestamptz not null default now(),
      constraint "template_feature_in_project" check ("feature" is null or "project" is not null),
      constraint "template_project_feature_name_unique" unique nulls not distinct ("project", "feature", "name"));`);
    // Versions are written once and never updated (no code path updates this table).
    this.addSql(`create table "registry"."template_version" (
      "template_id" varchar(36) not null references "registry"."template" ("id"),
      "version" int not null,
      "body" jsonb not null,
      "variables" jsonb not null,
      "parameters" jsonb not null,
      "author" varchar(200) null,
      "message" text null,
      "created_at" timestamptz not null default now(),
      primary key ("template_id", "version"));`);
    // A label is one row: moving it is one update, and it can only point at a version that exists.
    this.addSql(`create table "registry"."template_label" (
      "template_id" varchar(36) not null references "registry"."template" ("id"),
      "name" varchar(63) not null,
      "version" int not null,
      "updated_at" timestamptz not null default now(),
      primary key ("template_id", "name"),
      foreign key ("template_id", "version") references "registry"."template_version" ("template_id", "version"));`);
    // What each run was given, per reference: a repeated resolve for the run answers the same, whatever moved since.
    this.addSql(`create table "registry"."run_template" (
      "run_id" varchar(36) not null,
      "ref" varchar(200) not null,
      "project" varchar(63) not null,
      "template_id" varchar(36) not null references "registry"."template" ("id"),
      "version" int not null,
      "label" varchar(63) null,
      "experiment_id" varchar(36) null,
      "variant" varchar(63) null,
      "resolved_at" timestamptz not null default now(),
      primary key ("run_id", "ref"));`);
    this.addSql(`create table "registry"."experiment" (
      "id" varchar(36) primary key,
      "template_id" varchar(36) not null references "registry"."template" ("id"),
      "description" text null,
      "status" varchar(16) not null,
      "variants" jsonb not null,
      "promoted" jsonb null,
      "created_at" timestamptz not null default now(),
      "started_at" timestamptz null,
      "stopped_at" timestamptz null);`);
    // Only one experiment decides a template's unpinned traffic at a time.
    this.addSql(`create unique index "experiment_one_running_per_template" on "registry"."experiment" ("template_id") where "status" = 'running';`);
    // One row per (experiment, run): the variant the run got, and the run's outcome once it ends.
    this.addSql(`create table "registry"."experiment_run" (
      "experiment_id" varchar(36) not null references "registry"."experiment" ("id"),
      "run_id" varchar(36) not null,
      "subject" varchar(500) not null,
      "variant" varchar(63) not null,
      "steps" jsonb null,
      "status" varchar(16) null,
      "input_tokens" int null,
      "output_tokens" int null,
      "cost" double precision null,
      "duration_ms" double precision null,
      "assigned_at" timestamptz not null default now(),
      primary key ("experiment_id", "run_id"));`);
    this.addSql(`create index "experiment_run_run_id_index" on "registry"."experiment_run" ("run_id");`);
    // The latest verified attempt of each step that rendered the template, and its final status.
    this.addSql(`create table "registry"."experiment_step" (
      "experiment_id" varchar(36) not null,
      "run_id" varchar(36) not null,
      "step_id" varchar(64) not null,
      "attempt" int not null default 0,
      "verdict" varchar(16) null,
      "score" double precision null,
      "status" varchar(16) null,
      primary key ("experiment_id", "run_id", "step_id"),
      foreign key ("experiment_id", "run_id") references "registry"."experiment_run" ("experiment_id", "run_id"));`);
    this.addSql(outboxTableSql('registry'));
  }
}

export const REGISTRY_MIGRATIONS = [
  { name: 'RegistryInitial', class: RegistryInitial },
  { name: 'RegistryRunProject', class: RegistryRunProject },
  { name: 'RegistryStrategyExperiments', class: RegistryStrategyExperiments },
  { name: 'RegistryNoOutbox', class: RegistryNoOutbox },
];
