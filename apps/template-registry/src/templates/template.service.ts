import { Inject, Injectable } from '@nestjs/common';
import type { CreatedTemplateVersion, CreateTemplateBody, LabelView, TemplateCategory, TemplateLevel, TemplateLookup, TemplateSummary } from '@trellis/contracts';
import { canonicalJson } from '@trellis/engine';
import { Database, type EntityManager } from '@trellis/persistence';
import { REGISTRY_CONFIG, type RegistryConfig } from '../config';
import { RegistryError } from '../registry.errors';
import { bodyVariables } from './template-body';
import { describePlacement, placementOf, requireAdminFor, resolutionOrder, type Placement } from './template-levels';
import { levelOf, toSummary, toVersionView } from './template.mapper';
import { RegistryGeneration } from './registry-generation';
import { TemplateRepository, type TemplateHead } from './template.repository';

/**
 * Templates, their immutable versions and their labels. Creating a version never touches an
 * existing one; a label move is one row updated in one transaction.
 */
@Injectable()
export class TemplateService {
  constructor(
    private readonly db: Database,
    private readonly templates: TemplateRepository,
    @Inject(REGISTRY_CONFIG) private readonly config: RegistryConfig,
    private readonly generation: RegistryGeneration,
  ) {}

  /** A new version, unless body, variables and parameters equal the newest one (then that one, `created: false`). */
  async create(request: CreateTemplateBody & { project: string; admin: boolean }): Promise<CreatedTemplateVersion> {
    const at = placementOf(request.project, request);
    requireAdminFor(at, request.admin, 'creating a template');
    const variables = bodyVariables(request.body, request.variables);
    const em = this.db.fork();
    await this.checkCategory(em, request.project, request.name, request.category, at);
    const { version, created } = await em.transactional(async (tx) => {
      const template = await this.templates.lockOrCreate(tx, at, request.name, request.category);
      if (template.category !== request.category) {
        throw new RegistryError('conflict', `"${request.name}" at ${describePlacement(at)} is a ${template.category} template, not a ${request.category} one`, [
          { path: ['category'], message: `must be "${template.category}"` },
        ]);
      }
      const latest = await this.templates.latestVersion(tx, template.id);
      const same = latest && canonicalJson({ b: latest.body, v: latest.variables, p: latest.parameters }) === canonicalJson({ b: request.body, v: variables, p: request.parameters });
      if (latest && same) return { version: latest, created: false };
      const version = await this.templates.insertVersion(tx, {
        templateId: template.id,
        version: (latest?.version ?? 0) + 1,
        body: request.body,
        variables,
        parameters: request.parameters,
        author: request.author ?? null,
        message: request.message ?? null,
      });
      return { version, created: true };
    });
    if (created) await this.generation.bump();
    const head = (await this.templates.visibleHeads(em, request.project, [request.name])).find((h) => h.id === version.template_id)!;
    return { template: toSummary(head), version: toVersionView(version), created };
  }

  async list(project: string, category?: TemplateCategory): Promise<{ items: TemplateSummary[] }> {
    return { items: (await this.templates.listVisible(this.db.fork(), project, category)).map(toSummary) };
  }

  /** The template as a project (and feature) sees it: the level that answers, why, and every level considered. */
  async lookup(project: string, name: string, feature?: string): Promise<TemplateLookup> {
    const em = this.db.fork();
    const heads = await this.templates.visibleHeads(em, project, [name]);
    const order = resolutionOrder(project, feature);
    const answering = order.findIndex((at) => heads.some((h) => sameLevel(h, at)));
    if (answering < 0) throw new RegistryError('not_found', `no template named "${name}" at ${order.map(describePlacement).join(', ')}`);
    const head = heads.find((h) => sameLevel(h, order[answering]!))!;
    const candidates = order.map((at, i) => {
      const found = heads.some((h) => sameLevel(h, at));
      const note =
        i < answering
          ? `no template "${name}" at ${describePlacement(at)}`
          : i === answering
            ? `answers: the most specific level that has "${name}"`
            : found
              ? `has "${name}" but is overridden by ${describePlacement(order[answering]!)}`
              : `no template "${name}" at ${describePlacement(at)}`;
      return { level: at.level, project: at.project, feature: at.feature, found, note };
    });
    const versions = await this.templates.versions(em, head.id);
    const experiment = await em.execute<Array<{ id: string; status: string }>>(
      `select id, status from "registry"."experiment" where template_id = ? and status = 'running'`,
      [head.id],
    );
    const level = levelOf(head);
    return {
      name,
      project,
      feature: feature ?? null,
      level,
      reason: reasonFor(level, order[answering]!, feature),
      candidates,
      template: { ...toSummary(head), versions: versions.map(toVersionView), experiment: experiment[0] ?? null },
    };
  }

  /** Points a label at a version of the template at one level; protected labels need the admin token. */
  async moveLabel(request: {
    project: string;
    admin: boolean;
    name: string;
    label: string;
    version: number;
    level?: TemplateLevel | undefined;
    feature?: string | undefined;
  }): Promise<LabelView> {
    const at = placementOf(request.project, request);
    requireAdminFor(at, request.admin, 'moving a label');
    this.requireLabelPermission(request.label, request.admin);
    const em = this.db.fork();
    const { template, previous } = await em.transactional(async (tx) => {
      const template = await this.templates.find(tx, at, request.name, { lock: true });
      if (!template) throw new RegistryError('not_found', `no template named "${request.name}" at ${describePlacement(at)}`);
      if (!(await this.templates.version(tx, template.id, request.version))) {
        throw new RegistryError('not_found', `"${request.name}" at ${describePlacement(at)} has no version ${request.version}`, [
          { path: ['version'], message: 'no such version' },
        ]);
      }
      return { template, previous: await this.templates.moveLabel(tx, template.id, request.label, request.version) };
    });
    await this.generation.bump();
    return {
      name: template.name,
      category: template.category,
      level: at.level,
      project: at.project,
      feature: at.feature,
      label: request.label,
      version: request.version,
      previous,
    };
  }

  requireLabelPermission(label: string, admin: boolean): void {
    if (!admin && this.config.TEMPLATE_PROTECTED_LABELS.includes(label)) {
      throw new RegistryError('failed_precondition', `the label "${label}" is protected: moving it needs the admin token`);
    }
  }

  /** An override must keep the category of what it overrides: a judge never stands in for a prompt. */
  private async checkCategory(em: EntityManager, project: string, name: string, category: TemplateCategory, at: Placement): Promise<void> {
    const others: TemplateHead[] = await this.templates.visibleHeads(em, project, [name]);
    const clash = others.find((o) => o.category !== category && !sameLevel(o, at));
    if (clash) {
      throw new RegistryError('conflict', `"${name}" is a ${clash.category} template at the ${levelOf(clash)} level; an override must be one too`, [
        { path: ['category'], message: `must be "${clash.category}"` },
      ]);
    }
  }
}

function sameLevel(h: { project: string | null; feature: string | null }, at: { project: string | null; feature: string | null }): boolean {
  return h.project === at.project && h.feature === at.feature;
}

function reasonFor(level: TemplateLevel, at: { project: string | null; feature: string | null }, feature?: string): string {
  if (level === 'feature') return `feature "${at.feature}" overrides project "${at.project}" and the global level`;
  if (level === 'project') return `project "${at.project}" overrides the global level${feature ? ` and has no override for feature "${feature}"` : ''}`;
  return feature ? 'neither the feature nor the project overrides it: the global template answers' : 'the project does not override it: the global template answers';
}
