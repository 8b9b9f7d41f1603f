import { Injectable, type OnModuleInit } from '@nestjs/common';
import { BUILT_IN_TEMPLATES, type BuiltInTemplate } from '@trellis/engine';
import { Database } from '@trellis/persistence';
import { logger } from '@trellis/telemetry';
import { bodyVariables } from './template-body';
import type { Placement } from './template-levels';
import { RegistryGeneration } from './registry-generation';
import { TemplateRepository } from './template.repository';

const GLOBAL: Placement = { level: 'global', project: null, feature: null };

/** What seeding did to one built-in template. */
export type SeedOutcome = 'seeded' | 'kept' | 'conflict';

/**
 * Seeds the orchestrator's own prompts (judge, feedback, analysis, the `standard` personality)
 * as global templates before the registry answers anything (ADR 0012): version 1, labelled
 * `production`, for each one the registry does not have yet. Idempotent, and never more: an
 * existing template keeps its versions and labels whatever they are, so a newer global version
 * or a moved label survives every restart, and two registries starting together seed once (the
 * template row is locked while its first version is written).
 */
@Injectable()
export class TemplateSeeder implements OnModuleInit {
  private readonly log = logger('template-seeder');

  constructor(
    private readonly db: Database,
    private readonly templates: TemplateRepository,
    private readonly generation: RegistryGeneration,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.seed(BUILT_IN_TEMPLATES);
  }

  async seed(list: readonly BuiltInTemplate[]): Promise<Record<string, SeedOutcome>> {
    const outcomes: Record<string, SeedOutcome> = {};
    for (const t of list) outcomes[t.name] = await this.seedOne(t);
    const seeded = Object.entries(outcomes).filter(([, o]) => o === 'seeded').map(([name]) => name);
    if (seeded.length) {
      this.log.info({ templates: seeded }, 'built-in templates seeded at the global level');
      await this.generation.bump();
    }
    return outcomes;
  }

  private seedOne(t: BuiltInTemplate): Promise<SeedOutcome> {
    return this.db.fork().transactional(async (tx) => {
      const existing = await this.templates.find(tx, GLOBAL, t.name);
      if (existing && existing.category !== t.category) {
        this.log.warn({ template: t.name, category: existing.category }, `a global template "${t.name}" of another category exists: the built-in ${t.category} template is not seeded`);
        return 'conflict';
      }
      const row = await this.templates.lockOrCreate(tx, GLOBAL, t.name, t.category);
      if (await this.templates.latestVersion(tx, row.id)) return 'kept';
      await this.templates.insertVersion(tx, {
        templateId: row.id,
        version: 1,
        body: t.body,
        variables: bodyVariables(t.body),
        parameters: t.parameters,
        author: 'trellis',
        message: t.message,
      });
      await this.templates.moveLabel(tx, row.id, 'production', 1);
      return 'seeded';
    });
  }
}
