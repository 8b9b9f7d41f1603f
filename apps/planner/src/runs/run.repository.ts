import { Injectable } from '@nestjs/common';
import type { RunStatus } from '@trellis/contracts';
import type { EntityManager } from '@trellis/persistence';
import { Run, StepRun } from './run.entity';

@Injectable()
export class RunRepository {
  async exists(em: EntityManager, project: string, runId: string): Promise<boolean> {
    return (await em.count(Run, { id: runId, project })) > 0;
  }

  async withSteps(em: EntityManager, project: string, runId: string): Promise<{ run: Run; steps: StepRun[] } | null> {
    const run = await em.findOne(Run, { id: runId, project });
    if (!run) return null;
    return { run, steps: await em.find(StepRun, { runId }) };
  }

  /**
   * Newest first, keyset-paginated by id (uuid v7 ids sort by creation time), every filter in
   * SQL. Ids compare byte-wise (`collate "C"`) so that a page, a cursor and an id prefix all
   * walk one index, `(project, id)`, whatever the database's collation (a prefix `LIKE` uses a
   * btree only under "C"); status and pipeline have their own `(project, …, id)` indexes, and
   * the input search a trigram index over the inputs' values (PlannerRunList migration).
   */
  async list(em: EntityManager, query: RunListQuery): Promise<Run[]> {
    const where = ['"project" = ?'];
    const params: unknown[] = [query.project];
    const add = (clause: string, value: unknown) => {
      where.push(clause);
      params.push(value);
    };
    if (query.before) add('"id" collate "C" < ?', query.before);
    if (query.status) add('"status" = ?', query.status);
    if (query.pipeline) add('"pipeline" = ?', query.pipeline);
    if (query.createdFrom) add('"created_at" >= ?', query.createdFrom);
    if (query.createdTo) add('"created_at" < ?', query.createdTo);
    if (query.id) add(query.id.length === 36 ? '"id" = ?' : '"id" collate "C" like ?', query.id.length === 36 ? query.id : `${query.id}%`);
    if (query.input) add(`${INPUT_TEXT} ilike ? escape '\\'`, `%${query.input.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    params.push(query.limit);
    const rows = await em.execute<Array<Record<string, unknown>>>(
      `select ${SUMMARY_COLUMNS} from "planner"."run" where ${where.join(' and ')} order by "id" collate "C" desc limit ?`,
      params,
    );
    return rows.map((row) => em.map(Run, row));
  }
}

/** What `list` filters on; every field but the project and the page size is optional. */
export interface RunListQuery {
  project: string;
  limit: number;
  /** The last id of the previous page. */
  before?: string;
  status?: RunStatus;
  pipeline?: string;
  createdFrom?: Date;
  createdTo?: Date;
  /** A whole run id, or its first characters (lower-case). */
  id?: string;
  /** Text one of the input values contains, case-insensitively. */
  input?: string;
}

/** The input values as one text: the expression the trigram index is built on, written the same way. */
const INPUT_TEXT = '"planner"."run_input_text"("inputs")';

/** A run as listed: everything but its inputs, products and template pins. */
const SUMMARY_COLUMNS = ['id', 'project', 'pipeline', 'pipeline_version', 'spec_hash', 'status', 'input_tokens', 'output_tokens', 'cost', 'error', 'subject', 'stream', 'created_at', 'finished_at']
  .map((c) => `"${c}"`)
  .join(', ');
