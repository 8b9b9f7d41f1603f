import { Injectable } from '@nestjs/common';
import type { CreateExperimentBody, ExperimentKind, ExperimentStatus, ExperimentSummary, ExperimentView } from '@trellis/contracts';
import { Database, uuidv7, type EntityManager } from '@trellis/persistence';
import { RegistryError } from '../registry.errors';
import { describePlacement, placementOf, requireAdminFor } from '../templates/template-levels';
import { TemplateRepository } from '../templates/template.repository';
import { RegistryGeneration } from '../templates/registry-generation';
import { TemplateService } from '../templates/template.service';
import { strategyOf, type WeightedVariant } from './assignment';
import { toExperimentSummary, toExperimentView } from './experiment.mapper';
import { ExperimentRepository, type ExperimentRow } from './experiment.repository';
import { winner } from './experiment-results';
import { PipelineClient } from './pipeline-client';

/** What a variant's traffic is decided by, as `production` decides it: starting one needs what moving production needs. */
const TRAFFIC_LABEL = 'production';

/**
 * A/B experiments: on a template (weighted versions of it), or on a pipeline's strategy (its
 * registered versions, selection modes or iteration policies). Sticky assignment at resolve
 * time, results from the planner's outcomes, and promotion of a variant to the default: the
 * `production` label for a template; for a strategy, the pipeline's newest version, which the
 * planner registers (ADR 0012).
 */
@Injectable()
export class ExperimentService {
  constructor(
    private readonly db: Database,
    private readonly experiments: ExperimentRepository,
    private readonly templates: TemplateRepository,
    private readonly templateService: TemplateService,
    private readonly pipelines: PipelineClient,
    private readonly generation: RegistryGeneration,
  ) {}

  async create(request: CreateExperimentBody & { project: string; admin: boolean }): Promise<ExperimentView> {
    const id = uuidv7();
    const variants: WeightedVariant[] = request.variants.map((v) => ({
      name: v.name,
      weight: v.weight,
      ...(v.version !== undefined ? { version: v.version } : {}),
      ...(v.selection !== undefined ? { selection: v.selection } : {}),
      ...(v.policy !== undefined ? { policy: v.policy } : {}),
    }));
    const common = { id, kind: request.kind, description: request.description ?? null, status: request.status, variants };
    if (request.kind !== 'template') {
      const pipeline = request.pipeline!;
      await this.pipelines.requireVersions(request.project, pipeline, request.kind === 'pipeline' ? request.variants.map((v, i) => ({ version: v.version!, path: ['variants', i, 'version'] })) : []);
      await this.db.fork().transactional(async (tx) => {
        if (request.status === 'running') await this.requireNoneRunningOnPipeline(tx, request.project, pipeline, request.kind);
        await this.experiments.insert(tx, { ...common, templateId: null, project: request.project, pipeline });
      });
      await this.generation.bump();
      return this.get(request.project, id);
    }
    const at = placementOf(request.project, request);
    requireAdminFor(at, request.admin, 'an experiment');
    if (request.status === 'running') this.templateService.requireLabelPermission(TRAFFIC_LABEL, request.admin);
    const name = request.template!;
    await this.db.fork().transactional(async (tx) => {
      const template = await this.templates.find(tx, at, name, { lock: true });
      if (!template) throw new RegistryError('not_found', `no template named "${name}" at ${describePlacement(at)}`, [{ path: ['template'], message: 'no such template' }]);
      const missing = [];
      for (const [i, v] of request.variants.entries()) {
        if (!(await this.templates.version(tx, template.id, v.version!))) missing.push({ path: ['variants', i, 'version'], message: `"${name}" has no version ${v.version}` });
      }
      if (missing.length) throw new RegistryError('invalid_argument', `${missing.length} variant(s) name a version that does not exist`, missing);
      if (request.status === 'running') await this.requireNoneRunning(tx, template.id);
      await this.experiments.insert(tx, { ...common, templateId: template.id, project: null, pipeline: null });
    });
    await this.generation.bump();
    return this.get(request.project, id);
  }

  async get(project: string, id: string): Promise<ExperimentView> {
    const em = this.db.fork();
    const e = await this.findOrThrow(em, project, id);
    return toExperimentView(e, await this.experiments.aggregates(em, e.id, project));
  }

  async list(project: string, filter: { template?: string | undefined; pipeline?: string | undefined; status?: ExperimentStatus | undefined }): Promise<{ items: ExperimentSummary[] }> {
    return { items: (await this.experiments.list(this.db.fork(), project, filter)).map(toExperimentSummary) };
  }

  /** draft → running → stopped; stopped is final, so results never mix two periods. */
  async setStatus(request: { project: string; admin: boolean; id: string; status: ExperimentStatus }): Promise<ExperimentView> {
    await this.db.fork().transactional(async (tx) => {
      const e = await this.findOrThrow(tx, request.project, request.id, true);
      this.requireWritable(e, request.admin);
      if (e.status === request.status) return;
      const allowed = (e.status === 'draft' && request.status !== 'draft') || (e.status === 'running' && request.status === 'stopped');
      if (!allowed) throw new RegistryError('failed_precondition', `an experiment that is ${e.status} cannot become ${request.status}`);
      if (request.status === 'running') {
        if (e.template_id !== null) {
          this.templateService.requireLabelPermission(TRAFFIC_LABEL, request.admin);
          await this.requireNoneRunning(tx, e.template_id);
        } else {
          await this.requireNoneRunningOnPipeline(tx, e.project!, e.pipeline!, e.kind);
        }
      }
      await this.experiments.setStatus(tx, e.id, request.status);
    });
    await this.generation.bump();
    return this.get(request.project, request.id);
  }

  /**
   * Makes the named variant, or the significant winner, the default, and stops the experiment:
   * a template's `production` label moves to the variant's version; a strategy variant becomes
   * the pipeline's newest version (registered by the planner first, so a failure there changes
   * nothing here, and a repeated promotion registers nothing new).
   */
  async promote(request: { project: string; admin: boolean; id: string; variant?: string | undefined }): Promise<ExperimentView> {
    const em = this.db.fork();
    const current = await this.get(request.project, request.id);
    if (current.kind === 'template') this.templateService.requireLabelPermission(TRAFFIC_LABEL, request.admin);
    if (current.status === 'draft') throw new RegistryError('failed_precondition', 'a draft experiment has no results to promote');
    const name = request.variant ?? winner(current.results);
    if (!name) {
      throw new RegistryError('failed_precondition', `no variant is significantly better than the others yet (p < 0.05); name one with {"variant": "…"}`);
    }
    const variant = current.variants.find((v) => v.name === name);
    if (!variant) throw new RegistryError('invalid_argument', `no variant named "${name}"`, [{ path: ['variant'], message: `one of ${current.variants.map((v) => v.name).join(', ')}` }]);
    const version = current.kind === 'template' ? variant.version! : await this.pipelines.promote(request.project, current.pipeline!, strategyOf(current.kind, variant));
    await em.transactional(async (tx) => {
      const e = await this.findOrThrow(tx, request.project, request.id, true);
      this.requireWritable(e, request.admin);
      if (e.template_id !== null) await this.templates.moveLabel(tx, e.template_id, TRAFFIC_LABEL, version);
      await this.experiments.setStatus(tx, e.id, 'stopped');
      await this.experiments.setPromoted(tx, e.id, { variant: variant.name, version, at: new Date().toISOString() });
    });
    await this.generation.bump();
    return this.get(request.project, request.id);
  }

  private async findOrThrow(em: EntityManager, project: string, id: string, lock = false): Promise<ExperimentRow> {
    const e = /^[0-9a-f-]{36}$/.test(id) ? await this.experiments.find(em, project, id, { lock }) : undefined;
    if (!e) throw new RegistryError('not_found', `no experiment with id "${id}"`);
    return e;
  }

  /** A project sees experiments on global templates but changes them only with the admin token. */
  private requireWritable(e: ExperimentRow, admin: boolean): void {
    if (e.project === null && !admin) throw new RegistryError('failed_precondition', 'an experiment on a global template changes every project: send the admin token');
  }

  private async requireNoneRunning(tx: EntityManager, templateId: string): Promise<void> {
    const running = await this.experiments.runningFor(tx, [templateId]);
    const other = running.get(templateId);
    if (other) throw new RegistryError('conflict', `experiment ${other.id} is already running on this template; stop it first`);
  }

  private async requireNoneRunningOnPipeline(tx: EntityManager, project: string, pipeline: string, kind: ExperimentKind): Promise<void> {
    const other = (await this.experiments.runningForPipeline(tx, project, pipeline)).find((e) => e.kind === kind);
    if (other) throw new RegistryError('conflict', `experiment ${other.id} already varies the ${kind} of "${pipeline}"; stop it first`);
  }
}
