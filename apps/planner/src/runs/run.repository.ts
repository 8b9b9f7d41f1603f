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

  /** Newest first, keyset-paginated by id (uuid v7 ids sort by creation time). */
  list(em: EntityManager, query: { project: string; limit: number; before?: string; status?: RunStatus; pipeline?: string }): Promise<Run[]> {
    return em.find(
      Run,
      {
        project: query.project,
        ...(query.before ? { id: { $lt: query.before } } : {}),
        ...(query.status ? { status: query.status } : {}),
        ...(query.pipeline ? { pipeline: query.pipeline } : {}),
      },
      { orderBy: { id: 'desc' }, limit: query.limit },
    );
  }
}
