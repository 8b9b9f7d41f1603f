import { Injectable } from '@nestjs/common';
import type { EntityManager } from '@trellis/persistence';

/** What one reference of one run resolved to. */
export interface RunPinRow {
  run_id: string;
  ref: string;
  template_id: string;
  version: number;
  label: string | null;
  experiment_id: string | null;
  variant: string | null;
}

const RT = '"registry"."run_template"';

/**
 * The registry's record of what each run was given. Written once per (run, reference): a
 * planner that asks again for the same run (a retry after a crash) gets the same answer,
 * however labels and experiments moved in between.
 */
@Injectable()
export class RunPinRepository {
  async forRun(em: EntityManager, project: string, runId: string): Promise<Map<string, RunPinRow>> {
    const rows = await em.execute<RunPinRow[]>(`select * from ${RT} where run_id = ? and project = ?`, [runId, project]);
    return new Map(rows.map((r) => [r.ref, r]));
  }

  async insert(tx: EntityManager, project: string, given: RunPinRow[]): Promise<void> {
    // Two steps may use the same reference: one row for it.
    const pins = [...new Map(given.map((p) => [p.ref, p])).values()];
    if (!pins.length) return;
    await tx.execute(
      `insert into ${RT} (run_id, ref, project, template_id, version, label, experiment_id, variant) values ${pins.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}
       on conflict (run_id, ref) do nothing`,
      pins.flatMap((p) => [p.run_id, p.ref, project, p.template_id, p.version, p.label, p.experiment_id, p.variant]),
    );
  }
}
