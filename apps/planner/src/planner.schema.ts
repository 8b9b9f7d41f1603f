import { Database } from '@trellis/persistence';
import { PLANNER_MIGRATIONS } from './migrations/initial.migration';
import { PipelineAnalysisSchema, PipelineSchema, SpecSchema } from './pipelines/pipeline.entity';

/**
 * The planner's entities, all in its `planner` schema. Runs and steps are not entities: their
 * one definition is `runs/run-table.ts`; the outbox is written in SQL (`SqlTransaction`).
 */
export const PLANNER_ENTITIES = [SpecSchema, PipelineSchema, PipelineAnalysisSchema];

/** The planner's database on its own, migrated: for tests of its repositories and stores. */
export function openPlannerDatabase(url: string): Promise<Database> {
  return Database.open({ url, schema: 'planner', entities: PLANNER_ENTITIES, migrations: PLANNER_MIGRATIONS });
}
