import { Injectable } from '@nestjs/common';
import type { ExperimentKind, ExperimentStatus, TemplateCategory } from '@trellis/contracts';
import type { EntityManager } from '@trellis/persistence';
import type { WeightedVariant } from './assignment';
import type { VariantAggregate } from './experiment-results';

export interface ExperimentRow {
  id: string;
  kind: ExperimentKind;
  /** The template whose versions compete (`template` kind), else null. */
  template_id: string | null;
  /** The pipeline whose strategy varies (other kinds), else null. */
  pipeline: string | null;
  description: string | null;
  status: ExperimentStatus;
  variants: WeightedVariant[];
  promoted: { variant: string; version: number; at: string } | null;
  created_at: Date;
  started_at: Date | null;
  stopped_at: Date | null;
  // joined from the template (null for a pipeline's experiment)
  name: string | null;
  category: TemplateCategory | null;
  /** The template's project (null: global), or the pipeline's. */
  project: string | null;
  feature: string | null;
}

const E = '"registry"."experiment"';
const R = '"registry"."experiment_run"';
const S = '"registry"."experiment_step"';
const SELECT = `select e.id, e.kind, e.template_id, e.pipeline, e.description, e.status, e.variants, e.promoted, e.created_at, e.started_at, e.stopped_at,
  t.name, t.category, coalesce(e.project, t.project) as project, t.feature
  from ${E} e left join "registry"."template" t on t.id = e.template_id`;
/** The experiments a project sees: its own pipelines' and templates', and those on global templates. */
const VISIBLE = '(coalesce(e.project, t.project) is null or coalesce(e.project, t.project) = ?)';

/** SQL over experiments, the variant each run got, and the outcomes the events reported. */
@Injectable()
export class ExperimentRepository {
  async insert(
    tx: EntityManager,
    e: { id: string; kind: ExperimentKind; templateId: string | null; project: string | null; pipeline: string | null; description: string | null; status: ExperimentStatus; variants: WeightedVariant[] },
  ): Promise<void> {
    await tx.execute(
      `insert into ${E} (id, kind, template_id, project, pipeline, description, status, variants, started_at) values (?, ?, ?, ?, ?, ?, ?, ?::jsonb, ${e.status === 'running' ? 'now()' : 'null'})`,
      [e.id, e.kind, e.templateId, e.project, e.pipeline, e.description, e.status, JSON.stringify(e.variants)],
    );
  }

  /** The experiment if the project can see it (its own templates' or a global template's). */
  async find(em: EntityManager, project: string, id: string, options: { lock?: boolean } = {}): Promise<ExperimentRow | undefined> {
    const rows = await em.execute<ExperimentRow[]>(`${SELECT} where e.id = ? and ${VISIBLE}${options.lock ? ' for update of e' : ''}`, [id, project]);
    return rows[0];
  }

  async list(em: EntityManager, project: string, filter: { template?: string | undefined; pipeline?: string | undefined; status?: ExperimentStatus | undefined }): Promise<ExperimentRow[]> {
    const params: unknown[] = [project];
    let where = VISIBLE;
    if (filter.template) {
      where += ' and t.name = ?';
      params.push(filter.template);
    }
    if (filter.pipeline) {
      where += ' and e.pipeline = ?';
      params.push(filter.pipeline);
    }
    if (filter.status) {
      where += ' and e.status = ?';
      params.push(filter.status);
    }
    return em.execute<ExperimentRow[]>(`${SELECT} where ${where} order by e.created_at desc limit 200`, params);
  }

  /** Running experiments on these templates, by template id. */
  async runningFor(em: EntityManager, templateIds: string[]): Promise<Map<string, ExperimentRow>> {
    if (!templateIds.length) return new Map();
    const rows = await em.execute<ExperimentRow[]>(`${SELECT} where e.status = 'running' and e.template_id in (${templateIds.map(() => '?').join(',')})`, templateIds);
    return new Map(rows.map((r) => [r.template_id!, r]));
  }

  /** Running experiments on a project's pipeline (each kind at most once). */
  async runningForPipeline(em: EntityManager, project: string, pipeline: string): Promise<ExperimentRow[]> {
    return em.execute<ExperimentRow[]>(`${SELECT} where e.status = 'running' and e.project = ? and e.pipeline = ? order by e.kind`, [project, pipeline]);
  }

  async setStatus(tx: EntityManager, id: string, status: ExperimentStatus): Promise<void> {
    const stamp = status === 'running' ? ', started_at = now()' : status === 'stopped' ? ', stopped_at = coalesce(stopped_at, now())' : '';
    await tx.execute(`update ${E} set status = ?${stamp} where id = ?`, [status, id]);
  }

  async setPromoted(tx: EntityManager, id: string, promoted: { variant: string; version: number; at: string }): Promise<void> {
    await tx.execute(`update ${E} set promoted = ?::jsonb where id = ?`, [JSON.stringify(promoted), id]);
  }

  /**
   * Records the variant a run got, once: a second resolve for the same run keeps the first
   * answer. Answers the variant recorded.
   */
  async recordAssignment(tx: EntityManager, a: { experimentId: string; project: string; runId: string; subject: string; variant: string; steps: string[] | null }): Promise<string> {
    const inserted = await tx.execute<Array<{ variant: string }>>(
      `insert into ${R} (experiment_id, project, run_id, subject, variant, steps) values (?, ?, ?, ?, ?, ?::jsonb) on conflict do nothing returning variant`,
      [a.experimentId, a.project, a.runId, a.subject, a.variant, a.steps ? JSON.stringify(a.steps) : null],
    );
    if (inserted[0]) return inserted[0].variant;
    const existing = await tx.execute<Array<{ variant: string }>>(`select variant from ${R} where experiment_id = ? and run_id = ?`, [a.experimentId, a.runId]);
    return existing[0]!.variant;
  }

  /** The latest verified attempt of a step, for every experiment the run is in that counts the step. */
  async recordVerified(em: EntityManager, v: { runId: string; stepId: string; attempt: number; verdict: string; score: number }): Promise<void> {
    await em.execute(
      `insert into ${S} (experiment_id, run_id, step_id, attempt, verdict, score)
       select r.experiment_id, r.run_id, ?, ?, ?, ? from ${R} r where r.run_id = ? and (r.steps is null or jsonb_exists(r.steps, ?))
       on conflict (experiment_id, run_id, step_id) do update set attempt = excluded.attempt, verdict = excluded.verdict, score = excluded.score
       where ${S}.attempt <= excluded.attempt`,
      [v.stepId, v.attempt, v.verdict, v.score, v.runId, v.stepId],
    );
  }

  async recordStepCompleted(em: EntityManager, c: { runId: string; stepId: string; status: string }): Promise<void> {
    await em.execute(
      `insert into ${S} (experiment_id, run_id, step_id, status)
       select r.experiment_id, r.run_id, ?, ? from ${R} r where r.run_id = ? and (r.steps is null or jsonb_exists(r.steps, ?))
       on conflict (experiment_id, run_id, step_id) do update set status = excluded.status`,
      [c.stepId, c.status, c.runId, c.stepId],
    );
  }

  async recordRunCompleted(em: EntityManager, c: { runId: string; status: string; inputTokens: number; outputTokens: number; cost: number | null; durationMs: number }): Promise<void> {
    await em.execute(`update ${R} set status = ?, input_tokens = ?, output_tokens = ?, cost = ?, duration_ms = ? where run_id = ?`, [
      c.status,
      c.inputTokens,
      c.outputTokens,
      c.cost,
      c.durationMs,
      c.runId,
    ]);
  }

  /**
   * Sums per variant, over the runs of one project (an experiment on a global template runs in
   * many; each sees its own). A step counts once its verdict is final (accept or reject) or the step
   * ended; its latest attempt gives the verdict, the score and the iterations.
   */
  async aggregates(em: EntityManager, experimentId: string, project: string): Promise<Map<string, VariantAggregate>> {
    const runs = await em.execute<Array<Record<string, string | number | null>>>(
      `select variant, count(*) as runs, count(status) as completed, count(*) filter (where status = 'succeeded') as succeeded,
              avg(input_tokens) as input_tokens, avg(output_tokens) as output_tokens, avg(cost) as cost, avg(duration_ms) as duration_ms
       from ${R} where experiment_id = ? and project = ? group by variant`,
      [experimentId, project],
    );
    const steps = await em.execute<Array<Record<string, string | number | null>>>(
      `select r.variant, count(*) as verified, count(*) filter (where s.verdict = 'accept') as accepted,
              avg(s.score) as mean_score, stddev_samp(s.score) as sd_score, avg(s.attempt) as iterations
       from ${S} s join ${R} r on r.experiment_id = s.experiment_id and r.run_id = s.run_id
       where s.experiment_id = ? and r.project = ? and s.verdict is not null and (s.verdict in ('accept', 'reject') or s.status is not null)
       group by r.variant`,
      [experimentId, project],
    );
    const num = (v: string | number | null | undefined) => (v === null || v === undefined ? null : Number(v));
    const out = new Map<string, VariantAggregate>();
    for (const r of runs) {
      const s = steps.find((x) => x.variant === r.variant);
      out.set(String(r.variant), {
        runs: Number(r.runs),
        runsCompleted: Number(r.completed),
        runsSucceeded: Number(r.succeeded),
        meanInputTokens: num(r.input_tokens),
        meanOutputTokens: num(r.output_tokens),
        meanCost: num(r.cost),
        meanLatencyMs: num(r.duration_ms),
        stepsVerified: Number(s?.verified ?? 0),
        stepsAccepted: Number(s?.accepted ?? 0),
        meanScore: num(s?.mean_score),
        scoreStdDev: num(s?.sd_score),
        meanIterations: num(s?.iterations),
      });
    }
    return out;
  }
}
