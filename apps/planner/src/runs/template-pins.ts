import { Injectable } from '@nestjs/common';
import { RegistryRpc, type ResolvedTemplate, type StrategyPin, type TemplateRef } from '@trellis/contracts';
import { applyStrategy, askedRef, checkPins, pinLookups, replayTemplates, roleProblem, splitRef, templateNeeds, type CompiledPipeline, type TemplateNeed } from '@trellis/engine';
import { RpcCallError, RpcClient } from '@trellis/messaging';
import { Database } from '@trellis/persistence';
import { CompiledPipelines } from '../pipelines/compiled-pipelines';
import { PipelineRepository } from '../pipelines/pipeline.repository';
import { PlannerError } from '../planner.errors';
import { RegistryAnswers } from './registry-answers';

/** Who a run is for: what the registry resolves templates and experiments by. */
export interface RunScope {
  project: string;
  runId: string;
  subject?: string;
  feature?: string;
  /** A run of this registered pipeline: its strategy experiments assign the run a variant. */
  pipeline?: string;
}

/** What the registry decided for a new run, and the pipeline the run therefore runs. */
export interface PinnedRun {
  compiled: CompiledPipeline;
  /** The registered version it runs (a pipeline-version experiment may pick another than the latest). */
  version: number;
  templates: ResolvedTemplate[];
  strategies: StrategyPin[];
}

/**
 * Pins what a run needs of the template registry, in one request at run start (ADR 0012) — or
 * none, when the same question got an answer that assigned nothing since the registry last
 * changed (`RegistryAnswers`):
 * the templates its steps render, the orchestration's own (personalities, judge and feedback
 * prompts), each answered by the hierarchy (feature, project, global), a label or a running
 * experiment's variant for the run's subject; and the run's variant of each strategy
 * experiment on its pipeline. The registry records the assignment against the run, and the
 * bodies are stored on the run, so later label moves never change a running run.
 *
 * A strategy variant changes the spec the run runs (`applyStrategy`, or another registered
 * version); only when that spec reads templates the first answer lacks is a second request
 * made (the same run id: the registry answers the same assignments).
 */
@Injectable()
export class TemplatePins {
  constructor(
    private readonly rpc: RpcClient,
    private readonly db: Database,
    private readonly pipelines: PipelineRepository,
    private readonly compiler: CompiledPipelines,
    private readonly answers: RegistryAnswers,
  ) {}

  async pinRun(compiled: CompiledPipeline, version: number, scope: RunScope): Promise<PinnedRun> {
    const first = await this.resolve(templateNeeds(compiled), scope);
    const { strategies } = first;
    let run = { compiled, version };
    const chosen = strategies.find((s) => s.variant.kind === 'pipeline');
    if (chosen?.variant.kind === 'pipeline' && scope.pipeline !== undefined && chosen.variant.version !== version) {
      const hash = await this.pipelines.versionHash(this.db, scope.project, scope.pipeline, chosen.variant.version);
      if (!hash) throw new PlannerError('failed_precondition', `experiment ${chosen.experiment.id} assigns version ${chosen.variant.version} of "${scope.pipeline}", which does not exist`);
      run = { compiled: (this.compiler.cached(hash) ?? (await this.compiler.byHash(this.db.fork(), hash))).compiled, version: chosen.variant.version };
    }
    const changes = strategies.flatMap((s) => (s.variant.kind === 'pipeline' ? [] : [s.variant]));
    if (changes.length) {
      const { compiled: derived } = this.compiler.compile({ json: changes.reduce(applyStrategy, run.compiled.spec) });
      await this.pipelines.saveSpec(this.db.fork(), derived.hash, derived.spec);
      run = { ...run, compiled: derived };
    }
    const needs = templateNeeds(run.compiled);
    let { templates, missing } = first;
    const unasked = needs.filter((n) => !templates.some((t) => t.ref === n.ref) && !missing.includes(n.ref));
    if (unasked.length) {
      const second = await this.resolve(unasked, { ...scope, pipeline: undefined });
      templates = [...templates, ...second.templates];
      missing = [...missing, ...second.missing];
    }
    const issues = checkPins(run.compiled, needs, templates, missing);
    if (issues.length) throw new PlannerError('invalid_argument', `the run's templates have ${issues.length} problem(s): ${issues.map((i) => i.message).join('; ')}`, issues);
    return { ...run, templates: templates.filter((t) => needs.some((n) => n.ref === t.ref)), strategies };
  }

  /**
   * A replay's pins (`replayTemplates`, ADR 0015): the source's for every reference the
   * replay's pipeline resolves unless an override names the template; the others asked of the
   * registry without a run (it records no experiment assignment), and all checked for their
   * roles as a new run's are.
   */
  async pinReplay(compiled: CompiledPipeline, sourcePins: readonly ResolvedTemplate[], overrides: Readonly<Record<string, string>> | undefined, scope: { project: string; subject?: string }): Promise<ResolvedTemplate[]> {
    const planned = replayTemplates(compiled, sourcePins, overrides);
    if (!planned.ok) throw new PlannerError('invalid_argument', 'the replay names a template no step renders', planned.issues);
    const asked = planned.lookups.map((l) => ({ ...splitRef(askedRef(l)), steps: l.steps }));
    const { pins, missing } = pinLookups(planned.lookups, (await this.resolve(asked, scope)).templates);
    const templates = [...planned.kept, ...pins];
    const issues = checkPins(compiled, planned.needs, templates, missing);
    if (issues.length) throw new PlannerError('invalid_argument', `the replay's templates have ${issues.length} problem(s): ${issues.map((i) => i.message).join('; ')}`, issues);
    return templates;
  }

  /** The analysis prompt for a project (and feature), checked for its role. */
  async analysisTemplate(project: string, feature: string | undefined, ref: string): Promise<ResolvedTemplate> {
    const need: TemplateNeed = { ...splitRef(ref), role: 'analysis', steps: [] };
    const answer = await this.resolve([need], { project, ...(feature ? { feature } : {}) });
    const template = answer.templates[0];
    const path = ['orchestrator', 'template'];
    if (!template) throw new PlannerError('invalid_argument', `no analysis template "${ref}" in the registry`, [{ path, message: `no template "${ref}"` }]);
    const problem = roleProblem('analysis', template);
    if (problem) throw new PlannerError('invalid_argument', problem, [{ path, message: problem }]);
    return template;
  }

  private async resolve(needs: ReadonlyArray<Pick<TemplateNeed, 'ref' | 'name' | 'selector' | 'steps'>>, scope: Omit<RunScope, 'runId'> & { runId?: string; pipeline?: string | undefined }) {
    const byRef = new Map<string, TemplateRef>();
    for (const need of needs) {
      const ref = byRef.get(need.ref) ?? { name: need.name, ...(need.selector ? { selector: need.selector } : {}), steps: [] };
      ref.steps = [...new Set([...(ref.steps ?? []), ...need.steps])];
      byRef.set(need.ref, ref);
    }
    if (byRef.size === 0 && scope.pipeline === undefined) return { templates: [], missing: [], strategies: [] };
    const refs = [...byRef.values()];
    // The same question gets the same answer until the registry changes, unless it assigned a variant.
    const key = JSON.stringify([scope.project, scope.feature ?? null, scope.pipeline ?? null, refs]);
    const subject = scope.subject ?? scope.runId;
    try {
      return await this.answers.answer(key, () =>
        this.rpc.call(RegistryRpc.resolveTemplates, {
          project: scope.project,
          ...(scope.runId ? { runId: scope.runId } : {}),
          ...(subject ? { subject } : {}),
          ...(scope.feature ? { feature: scope.feature } : {}),
          ...(scope.pipeline ? { pipeline: scope.pipeline } : {}),
          refs,
        }),
      );
    } catch (err) {
      if (err instanceof RpcCallError) throw new PlannerError(err.code === 'invalid_argument' ? 'invalid_argument' : 'unavailable', `the template registry could not resolve the run's templates: ${err.message}`);
      throw err;
    }
  }
}
