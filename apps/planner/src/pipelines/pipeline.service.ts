import { Injectable } from '@nestjs/common';
import type { PipelineSpec, PipelineSummary, PipelineView, PlanView, SpecSource, StrategyVariant } from '@trellis/contracts';
import { applyStrategy } from '@trellis/engine';
import { Database, type EntityManager } from '@trellis/persistence';
import { PlannerError } from '../planner.errors';
import { CompiledPipelines } from './compiled-pipelines';
import type { Pipeline } from './pipeline.entity';
import { PipelineAnalysisService, type AnalysisScope } from './pipeline-analysis.service';
import { PipelineRepository } from './pipeline.repository';

@Injectable()
export class PipelineService {
  constructor(
    private readonly db: Database,
    private readonly pipelines: PipelineRepository,
    private readonly compiler: CompiledPipelines,
    private readonly analysis: PipelineAnalysisService,
  ) {}

  /**
   * Compiles without registering anything: the plan, or every problem with its line and
   * column; then the alignment check, as registration would make it.
   */
  async validate(source: SpecSource, overrideAlignment: boolean, scope: AnalysisScope): Promise<PlanView> {
    const { compiled } = this.compiler.compile(source);
    await this.analysis.check(this.db.fork(), compiled, overrideAlignment, scope);
    return this.compiler.plan(compiled);
  }

  /**
   * Compiles, stores the spec, has the orchestrator model analyse it (when the spec names one;
   * outside any transaction, since a model call takes seconds), then adds the version.
   */
  async register(scope: AnalysisScope, source: SpecSource, overrideAlignment = false): Promise<PipelineView> {
    const { compiled } = this.compiler.compile(source);
    await this.pipelines.saveSpec(this.db.fork(), compiled.hash, compiled.spec);
    const analysed = await this.analysis.analyse(this.db.fork(), compiled, overrideAlignment, scope);
    const pipeline = await this.db.fork().transactional(async (em) => {
      const version = await this.pipelines.addVersion(em, scope.project, compiled.spec.name, compiled.hash, compiled.spec.description);
      // The version shows the analysis this registration asked for (the same spec may be registered again under another prompt).
      if (analysed) version.analysisPrompt = analysed.prompt;
      return version;
    });
    return this.view(this.db.fork(), pipeline);
  }

  /** The newest version, or `version`. */
  async get(project: string, name: string, version?: number): Promise<PipelineView> {
    const em = this.db.fork();
    const pipeline = version === undefined ? await this.pipelines.latest(em, project, name) : await this.pipelines.version(em, project, name, version);
    if (!pipeline) throw new PlannerError('not_found', version === undefined ? `no pipeline named "${name}"` : `pipeline "${name}" has no version ${version}`);
    return this.view(em, pipeline);
  }

  /**
   * A strategy experiment's variant becomes the pipeline's default (ADR 0012): its newest
   * version is the variant's version's spec, or the latest spec with the variant's selection
   * mode or policy applied (`applyStrategy`, the change the experiment's runs ran). The alignment
   * check is not repeated: the experiment's results are the stronger evidence.
   */
  async promote(project: string, name: string, variant: StrategyVariant): Promise<PipelineView> {
    const em = this.db.fork();
    const latest = await this.pipelines.latest(em, project, name);
    if (!latest) throw new PlannerError('not_found', `no pipeline named "${name}"`);
    let spec: PipelineSpec;
    if (variant.kind === 'pipeline') {
      const chosen = await this.pipelines.version(em, project, name, variant.version);
      if (!chosen) throw new PlannerError('not_found', `pipeline "${name}" has no version ${variant.version}`);
      spec = await this.pipelines.specOf(em, chosen.specHash);
    } else {
      spec = applyStrategy(await this.pipelines.specOf(em, latest.specHash), variant);
    }
    return this.register({ project }, { json: spec }, true);
  }

  async list(project: string): Promise<{ items: PipelineSummary[] }> {
    const items = await this.pipelines.listLatest(this.db.fork(), project);
    return { items: items.map(toSummary) };
  }

  async versions(project: string, name: string): Promise<{ items: PipelineSummary[] }> {
    const items = await this.pipelines.versions(this.db.fork(), project, name);
    if (!items.length) throw new PlannerError('not_found', `no pipeline named "${name}"`);
    return { items: items.map(toSummary) };
  }

  private async view(em: EntityManager, pipeline: Pipeline): Promise<PipelineView> {
    const { compiled } = await this.compiler.byHash(em, pipeline.specHash);
    return {
      name: pipeline.name,
      version: pipeline.version,
      hash: pipeline.specHash,
      spec: compiled.spec,
      plan: this.compiler.plan(compiled),
      analysis: await this.analysis.cached(em, pipeline.specHash, pipeline.analysisPrompt ?? null),
      createdAt: pipeline.createdAt.toISOString(),
      ...(pipeline.description ? { description: pipeline.description } : {}),
    };
  }
}

function toSummary(p: Pipeline): PipelineSummary {
  return {
    name: p.name,
    version: p.version,
    hash: p.specHash,
    createdAt: p.createdAt.toISOString(),
    ...(p.description ? { description: p.description } : {}),
  };
}
