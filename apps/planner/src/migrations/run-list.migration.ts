import { Migration } from '@trellis/persistence';

/**
 * Indexes for the console's list of runs (`GET /v1/runs` with filters), measured on a project
 * of 100,000 runs beside another of 100,000 (docs/console.md, "How the run list stays fast"):
 *
 * - `(project, id collate "C")`: a page, the next page and an id prefix are one index range
 *   (a prefix `LIKE` uses a btree only under the "C" collation, whatever the database's is);
 * - `(project, status, id)` and `(project, pipeline, id)`: a rare status (the failed runs) or one
 *   pipeline's runs without reading past the others;
 * - the input search: a trigram index (pg_trgm) over the text of the inputs' values, so that
 *   `ILIKE '%kettle%'` reads the matching runs only (≈4 ms instead of ≈90 ms for a full scan).
 *   pg_trgm is a trusted extension (a database owner may create it); where it cannot be created
 *   the search still works, by reading the project's runs, and the migration says so.
 */
export class PlannerRunList extends Migration {
  override name = 'PlannerRunList';

  override up(): void {
    this.addSql(`create index "run_project_id_index" on "planner"."run" ("project", "id" collate "C");`);
    this.addSql(`create index "run_project_status_id_index" on "planner"."run" ("project", "status", "id" collate "C");`);
    this.addSql(`create index "run_project_pipeline_id_index" on "planner"."run" ("project", "pipeline", "id" collate "C");`);
    // Immutable, so that an index may be built on it: the values of the top-level inputs, space-separated
    // (`inputs` is json since PlannerOrderedJson: it keeps the keys' order).
    this.addSql(`create function "planner"."run_input_text"(inputs json) returns text language sql immutable parallel safe
      as $$ select coalesce(string_agg(value, ' '), '') from json_each_text(inputs) $$;`);
    this.addSql(`do $$
      declare trgm_schema text;
      begin
        begin
          create extension if not exists pg_trgm;
        exception when others then
          raise notice 'pg_trgm is not available (%): searching runs by input will read every run of the project', sqlerrm;
          return;
        end;
        select n.nspname into trgm_schema from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'pg_trgm';
        execute format('create index "run_input_text_trgm_index" on "planner"."run" using gin ("planner"."run_input_text"("inputs") %I.gin_trgm_ops)', trgm_schema);
      end $$;`);
  }
}
