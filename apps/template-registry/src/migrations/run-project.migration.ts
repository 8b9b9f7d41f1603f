import { Migration } from '@trellis/persistence';

/**
 * The project of each experiment run: results of an experiment on a global template are
 * shown per project, so that no project sees another's runs.
 */
export class RegistryRunProject extends Migration {
  override name = 'RegistryRunProject';

  override up(): void {
    this.addSql(`alter table "registry"."experiment_run" add column "project" varchar(63) null;`);
    this.addSql(`create index "experiment_run_experiment_project_index" on "registry"."experiment_run" ("experiment_id", "project");`);
  }
}
