import { Migration } from '@trellis/persistence';

/**
 * Experiments over a pipeline's strategy (ADR 0012): besides a template's versions, an
 * experiment may vary which registered version of a pipeline runs, its selection mode or its
 * iteration policy. Such an experiment names its pipeline and project instead of a template.
 */
export class RegistryStrategyExperiments extends Migration {
  override name = 'RegistryStrategyExperiments';

  override up(): void {
    this.addSql(`alter table "registry"."experiment" alter column "template_id" drop not null;`);
    this.addSql(`alter table "registry"."experiment" add column "kind" varchar(16) not null default 'template';`);
    this.addSql(`alter table "registry"."experiment" add column "project" varchar(63) null;`);
    this.addSql(`alter table "registry"."experiment" add column "pipeline" varchar(100) null;`);
    this.addSql(`alter table "registry"."experiment" add constraint "experiment_target" check (
      ("kind" = 'template' and "template_id" is not null and "pipeline" is null)
      or ("kind" <> 'template' and "template_id" is null and "pipeline" is not null and "project" is not null));`);
    // One experiment of each kind decides a pipeline's runs at a time.
    this.addSql(`create unique index "experiment_one_running_per_pipeline_kind" on "registry"."experiment" ("project", "pipeline", "kind") where "status" = 'running' and "pipeline" is not null;`);
  }
}
