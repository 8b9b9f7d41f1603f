import { Injectable } from '@nestjs/common';
import type { RegistryRpc, RenderedTemplate, ResolvedTemplate, StrategyPin, TemplateRef } from '@trellis/contracts';
import { Database, type EntityManager } from '@trellis/persistence';
import type { z } from 'zod';
import { assignVariant, strategyOf } from '../experiments/assignment';
import { ExperimentRepository, type ExperimentRow } from '../experiments/experiment.repository';
import { RegistryError } from '../registry.errors';
import { renderBody } from './template-body';
import { describePlacement, resolutionOrder } from './template-levels';
import { RunPinRepository, type RunPinRow } from './run-pin.repository';
import { levelOf } from './template.mapper';
import { TemplateRepository, type TemplateHead } from './template.repository';

type ResolveRequest = z.output<(typeof RegistryRpc)['resolveTemplates']['request']>;
type ResolveResponse = z.input<(typeof RegistryRpc)['resolveTemplates']['response']>;

/** How one reference picked its version, before the body is loaded. */
interface Choice {
  head: TemplateHead;
  version: number;
  label: string | null;
  experiment: { id: string; variant: string } | null;
}

/**
 * Resolves template references: the most specific level that has the name answers (feature,
 * then project, then global); inside it, `@<n>` is a version, `@latest` the newest, `@<label>`
 * a label; without a selector a running experiment picks the subject's variant, else
 * `production`, else the newest version. The answer carries the body, so a run keeps what
 * it was given however labels move later; with a `runId` an experiment's assignment is
 * recorded, and asking again for that run answers the same variant.
 */
@Injectable()
export class TemplateResolverService {
  constructor(
    private readonly db: Database,
    private readonly templates: TemplateRepository,
    private readonly experiments: ExperimentRepository,
    private readonly pins: RunPinRepository,
  ) {}

  async resolve(request: ResolveRequest): Promise<ResolveResponse> {
    const em = this.db.fork();
    const heads = await this.templates.visibleHeads(em, request.project, [...new Set(request.refs.map((r) => r.name))]);
    const running = await this.experiments.runningFor(em, heads.map((h) => h.id));
    const subject = request.subject ?? request.runId;
    const pinned = request.runId ? await this.pins.forRun(em, request.project, request.runId) : new Map<string, RunPinRow>();
    const missing: string[] = [];
    const chosen: Array<{ ref: TemplateRef; choice: Choice }> = [];
    const fresh: Array<{ ref: TemplateRef; choice: Choice }> = [];
    for (const ref of request.refs) {
      const fromPin = pinnedChoice(heads, pinned.get(refKey(ref)));
      if (fromPin) {
        chosen.push({ ref, choice: fromPin });
        continue;
      }
      const head = this.answeringLevel(heads, ref.name, request.project, request.feature);
      const choice = head && choose(head, ref.selector, running.get(head.id), subject);
      if (!choice) {
        missing.push(refKey(ref));
        continue;
      }
      chosen.push({ ref, choice });
      fresh.push({ ref, choice });
    }
    // Only an experiment's choice is recorded: it is what asking again for the run must answer
    // the same (the subject's variant, counted in the results). Any other choice is the run's to
    // keep — the planner stores the bodies with the run — so most run starts write nothing here.
    const assigned = fresh.filter(({ choice }) => choice.experiment !== null);
    if (request.runId && assigned.length) {
      const runId = request.runId;
      await em.transactional(async (tx) => {
        await this.recordAssignments(tx, request.project, runId, subject!, assigned, running);
        await this.pins.insert(tx, request.project, assigned.map(({ ref, choice }) => toPin(runId, ref, choice)));
      });
      // A concurrent resolve for the same run may have recorded first: answer what is recorded.
      const recorded = await this.pins.forRun(em, request.project, runId);
      for (const entry of chosen) entry.choice = pinnedChoice(heads, recorded.get(refKey(entry.ref))) ?? entry.choice;
    }
    const bodies = await this.templates.versionsByKey(em, chosen.map(({ choice }) => ({ templateId: choice.head.id, version: choice.version })));
    const templates = chosen.map(({ ref, choice }): ResolvedTemplate => {
      const v = bodies.get(`${choice.head.id}:${choice.version}`)!;
      return {
        ref: refKey(ref),
        name: choice.head.name,
        category: choice.head.category,
        version: choice.version,
        label: choice.label,
        level: levelOf(choice.head),
        body: v.body,
        variables: v.variables,
        parameters: v.parameters,
        experiment: choice.experiment,
      };
    });
    const strategies = request.pipeline && subject !== undefined ? await this.assignStrategies(em, request.project, request.pipeline, subject, request.runId) : [];
    return { templates, missing, strategies };
  }

  /**
   * The run's variant of each strategy experiment running on its pipeline, by subject; with a
   * `runId` recorded once (`experiment_run`), so that asking again answers the variant recorded
   * first and the results count the run for it. Every step of the run counts.
   */
  private async assignStrategies(em: EntityManager, project: string, pipeline: string, subject: string, runId: string | undefined): Promise<StrategyPin[]> {
    const running = await this.experiments.runningForPipeline(em, project, pipeline);
    if (!running.length) return [];
    const assign = async (tx: EntityManager) => {
      const pins: StrategyPin[] = [];
      for (const experiment of running) {
        let variant = assignVariant(experiment.id, subject, experiment.variants);
        if (runId) {
          const recorded = await this.experiments.recordAssignment(tx, { experimentId: experiment.id, project, runId, subject, variant: variant.name, steps: null });
          variant = experiment.variants.find((v) => v.name === recorded) ?? variant;
        }
        pins.push({ experiment: { id: experiment.id, variant: variant.name }, variant: strategyOf(experiment.kind as Exclude<typeof experiment.kind, 'template'>, variant) });
      }
      return pins;
    };
    return runId ? em.transactional(assign) : assign(em);
  }

  /** A preview: the template as a run would get it (experiments aside), rendered with `variables`. */
  async render(request: { project: string; name: string; feature?: string | undefined; selector?: string | undefined; variables: Record<string, unknown> }): Promise<RenderedTemplate> {
    const em = this.db.fork();
    const heads = await this.templates.visibleHeads(em, request.project, [request.name]);
    const head = this.answeringLevel(heads, request.name, request.project, request.feature);
    if (!head) throw new RegistryError('not_found', `no template named "${request.name}" at ${resolutionOrder(request.project, request.feature).map(describePlacement).join(', ')}`);
    const choice = choose(head, request.selector, undefined, undefined);
    if (!choice) throw new RegistryError('not_found', `"${request.name}" at ${describePlacement({ level: levelOf(head), ...head })} has no version or label "${request.selector}"`);
    const version = (await this.templates.version(em, head.id, choice.version))!;
    return {
      name: head.name,
      version: choice.version,
      level: levelOf(head),
      label: choice.label,
      rendered: renderBody(version.body, request.variables),
      parameters: version.parameters,
    };
  }

  private answeringLevel(heads: TemplateHead[], name: string, project: string, feature?: string): TemplateHead | undefined {
    for (const at of resolutionOrder(project, feature)) {
      const head = heads.find((h) => h.name === name && h.project === at.project && h.feature === at.feature);
      if (head) return head;
    }
    return undefined;
  }

  /**
   * One row per (experiment, run), written once: asking again for the same run answers the
   * variant recorded the first time. The steps that render the template are kept so that
   * only their verdicts count.
   */
  private async recordAssignments(tx: EntityManager, project: string, runId: string, subject: string, chosen: Array<{ ref: TemplateRef; choice: Choice }>, running: Map<string, ExperimentRow>): Promise<void> {
    const byExperiment = new Map<string, { choices: Choice[]; steps: Set<string> | null }>();
    for (const { ref, choice } of chosen) {
      if (!choice.experiment) continue;
      const entry = byExperiment.get(choice.experiment.id) ?? { choices: [], steps: new Set<string>() };
      entry.choices.push(choice);
      entry.steps = entry.steps && ref.steps ? new Set([...entry.steps, ...ref.steps]) : null;
      byExperiment.set(choice.experiment.id, entry);
    }
    for (const [experimentId, entry] of byExperiment) {
      const variant = await this.experiments.recordAssignment(tx, {
        experimentId,
        project,
        runId,
        subject,
        variant: entry.choices[0]!.experiment!.variant,
        steps: entry.steps ? [...entry.steps].sort() : null,
      });
      // The variant recorded first wins: a repeated request for the run gets the same version.
      const experiment = [...running.values()].find((e) => e.id === experimentId)!;
      const version = experiment.variants.find((v) => v.name === variant)?.version;
      for (const choice of entry.choices) {
        choice.experiment = { id: experimentId, variant };
        if (version !== undefined) choice.version = version;
      }
    }
  }
}

function refKey(ref: TemplateRef): string {
  return ref.selector ? `${ref.name}@${ref.selector}` : ref.name;
}

function pinnedChoice(heads: TemplateHead[], pin: RunPinRow | undefined): Choice | undefined {
  const head = pin && heads.find((h) => h.id === pin.template_id);
  if (!pin || !head) return undefined;
  return { head, version: pin.version, label: pin.label, experiment: pin.experiment_id && pin.variant ? { id: pin.experiment_id, variant: pin.variant } : null };
}

function toPin(runId: string, ref: TemplateRef, choice: Choice): RunPinRow {
  return {
    run_id: runId,
    ref: refKey(ref),
    template_id: choice.head.id,
    version: choice.version,
    label: choice.label,
    experiment_id: choice.experiment?.id ?? null,
    variant: choice.experiment?.variant ?? null,
  };
}

/** The version a selector picks inside one template; undefined when it names nothing there. */
function choose(head: TemplateHead, selector: string | undefined, experiment: ExperimentRow | undefined, subject: string | undefined): Choice | undefined {
  if (selector === undefined) {
    if (experiment && subject !== undefined) {
      const variant = assignVariant(experiment.id, subject, experiment.variants);
      return { head, version: variant.version!, label: null, experiment: { id: experiment.id, variant: variant.name } };
    }
    const production = head.labels.production;
    return production !== undefined ? { head, version: production, label: 'production', experiment: null } : { head, version: head.latest, label: 'latest', experiment: null };
  }
  if (selector === 'latest') return { head, version: head.latest, label: 'latest', experiment: null };
  if (/^\d+$/.test(selector)) {
    const n = Number(selector);
    // Versions are numbered 1..latest without gaps: a number in range exists.
    return n >= 1 && n <= head.latest ? { head, version: n, label: null, experiment: null } : undefined;
  }
  const labelled = head.labels[selector];
  return labelled !== undefined ? { head, version: labelled, label: selector, experiment: null } : undefined;
}
