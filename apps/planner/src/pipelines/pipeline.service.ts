import { Injectable } from '@nestjs/common';
import type { PipelineSummary, PipelineView, PlanView, SpecSource } from '@trellis/contracts';

import { Database, type EntityManager } from '@trellis/persistence';
import { PlannerError } from '../planner.errors';
import { CompiledPipelines } from './compiled-pipelines';
import type { Pipeline } from './pipeline.entity';
import { PipelineAnalysisService } from './pipeline-analysis.service';
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
  async validate(source: SpecSource, overrideAlignment = false): Promise<PlanView> {
    const { compiled } = this.compiler.compile(source);
    await this.analysis.check(this.db.fork(), compiled, overrideAlignment);
    return this.compiler.plan(compiled);
  }

  /**
   * Compiles, stores the spec, has the orchestrator model analyse it (when the spec names one;
   * outside any transaction, since a model call takes seconds), then adds the version.
   */
  async register(project: string, source: SpecSource, overrideAlignment = false): Promise<PipelineView> {
    const { compiled } = this.compiler.compile(source);
    await this.pipelines.saveSpec(this.db.fork(), compiled.hash, compiled.spec);
    await this.analysis.analyse(this.db.fork(), compiled, overrideAlignment);
    const pipeline = await this.db.fork().transactional((em) =>
      this.pipelines.addVersion(em, project, compiled.spec.name, compiled.hash, compiled.spec.description),
    );
    return this.view(this.db.fork(), pipeline);
  }

  /** The newest version, or `version`. */
  async get(project: string, name: string, version?: number): Promise<PipelineView> {
    const em = this.db.fork();
    const pipeline = version === undefined ? await this.pipelines.latest(em, project, name) : await this.pipelines.version(em, project, name, version);
    if (!pipeline) throw new PlannerError('not_found', version === undefined ? `no pipeline named "${name}"` : `pipeline "${name}" has no version ${version}`);
    return this.view(em, pipeline);
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
      analysis: await this.analysis.cached(em, pipeline.specHash),
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
