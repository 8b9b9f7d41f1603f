import { Injectable } from '@nestjs/common';
import type { ModelParameters, TemplateBody, TemplateCategory } from '@trellis/contracts';
import { uuidv7, type EntityManager } from '@trellis/persistence';
import type { Placement } from './template-levels';

export interface TemplateRow {
  id: string;
  project: string | null;
  feature: string | null;
  name: string;
  category: TemplateCategory;
  created_at: Date;
  updated_at: Date;
}

export interface VersionRow {
  template_id: string;
  version: number;
  body: TemplateBody;
  variables: string[];
  parameters: ModelParameters;
  author: string | null;
  message: string | null;
  created_at: Date;
}

export interface LabelRow {
  template_id: string;
  name: string;
  version: number;
}

/** A template with what resolution needs: its newest version number and its labels. */
export interface TemplateHead extends TemplateRow {
  latest: number;
  labels: Record<string, number>;
}

const T = '"registry"."template"';
const V = '"registry"."template_version"';
const L = '"registry"."template_label"';

/**
 * SQL over the registry's templates. Versions are only ever inserted; a label is one row,
 * moved by one upsert inside the caller's transaction.
 */
@Injectable()
export class TemplateRepository {
  /** The template at one level, locked for the transaction; created (with its category) when absent. */
  async lockOrCreate(tx: EntityManager, at: Placement, name: string, category: TemplateCategory): Promise<TemplateRow> {
    await tx.execute(`insert into ${T} (id, project, feature, name, category) values (?, ?, ?, ?, ?) on conflict do nothing`, [
      uuidv7(),
      at.project,
      at.feature,
      name,
      category,
    ]);
    const rows = await tx.execute<TemplateRow[]>(
      `select * from ${T} where project is not distinct from ? and feature is not distinct from ? and name = ? for update`,
      [at.project, at.feature, name],
    );
    return rows[0]!;
  }

  async find(em: EntityManager, at: Placement, name: string, options: { lock?: boolean } = {}): Promise<TemplateRow | undefined> {
    const rows = await em.execute<TemplateRow[]>(
      `select * from ${T} where project is not distinct from ? and feature is not distinct from ? and name = ?${options.lock ? ' for update' : ''}`,
      [at.project, at.feature, name],
    );
    return rows[0];
  }

  async findById(em: EntityManager, id: string): Promise<TemplateRow | undefined> {
    return (await em.execute<TemplateRow[]>(`select * from ${T} where id = ?`, [id]))[0];
  }

  /** Every template with this name that a project (and feature) can see, with heads. */
  async visibleHeads(em: EntityManager, project: string, names: string[]): Promise<TemplateHead[]> {
    if (!names.length) return [];
    const rows = await em.execute<TemplateRow[]>(
      `select * from ${T} where name in (${names.map(() => '?').join(',')}) and (project is null or project = ?)`,
      [...names, project],
    );
    return this.withHeads(em, rows);
  }

  /** Every template a project can see: the global ones and its own, at every level. */
  async listVisible(em: EntityManager, project: string, category?: TemplateCategory): Promise<TemplateHead[]> {
    const rows = await em.execute<TemplateRow[]>(
      `select * from ${T} where (project is null or project = ?)${category ? ' and category = ?' : ''} order by name, project nulls first, feature nulls first`,
      category ? [project, category] : [project],
    );
    return this.withHeads(em, rows);
  }

  async latestVersion(em: EntityManager, templateId: string): Promise<VersionRow | undefined> {
    return (await em.execute<VersionRow[]>(`select * from ${V} where template_id = ? order by version desc limit 1`, [templateId]))[0];
  }

  async version(em: EntityManager, templateId: string, version: number): Promise<VersionRow | undefined> {
    return (await em.execute<VersionRow[]>(`select * from ${V} where template_id = ? and version = ?`, [templateId, version]))[0];
  }

  async versions(em: EntityManager, templateId: string): Promise<VersionRow[]> {
    return em.execute<VersionRow[]>(`select * from ${V} where template_id = ? order by version desc`, [templateId]);
  }

  /** Many (template, version) pairs in one query, keyed `<templateId>:<version>`. */
  async versionsByKey(em: EntityManager, keys: Array<{ templateId: string; version: number }>): Promise<Map<string, VersionRow>> {
    if (!keys.length) return new Map();
    const rows = await em.execute<VersionRow[]>(
      `select * from ${V} where (template_id, version) in (${keys.map(() => '(?, ?)').join(',')})`,
      keys.flatMap((k) => [k.templateId, k.version]),
    );
    return new Map(rows.map((r) => [`${r.template_id}:${r.version}`, r]));
  }

  /** Inserts the next version; the caller holds the template's lock, so numbers never collide. */
  async insertVersion(
    tx: EntityManager,
    v: { templateId: string; version: number; body: TemplateBody; variables: string[]; parameters: ModelParameters; author: string | null; message: string | null },
  ): Promise<VersionRow> {
    const rows = await tx.execute<VersionRow[]>(
      `insert into ${V} (template_id, version, body, variables, parameters, author, message) values (?, ?, ?::jsonb, ?::jsonb, ?::jsonb, ?, ?) returning *`,
      [v.templateId, v.version, JSON.stringify(v.body), JSON.stringify(v.variables), JSON.stringify(v.parameters), v.author, v.message],
    );
    await tx.execute(`update ${T} set updated_at = now() where id = ?`, [v.templateId]);
    return rows[0]!;
  }

  /** Points the label at `version` in one statement; answers the version it pointed at before. */
  async moveLabel(tx: EntityManager, templateId: string, label: string, version: number): Promise<number | null> {
    const before = await tx.execute<LabelRow[]>(`select * from ${L} where template_id = ? and name = ? for update`, [templateId, label]);
    await tx.execute(
      `insert into ${L} (template_id, name, version) values (?, ?, ?)
       on conflict (template_id, name) do update set version = excluded.version, updated_at = now()`,
      [templateId, label, version],
    );
    await tx.execute(`update ${T} set updated_at = now() where id = ?`, [templateId]);
    return before[0]?.version ?? null;
  }

  private async withHeads(em: EntityManager, rows: TemplateRow[]): Promise<TemplateHead[]> {
    if (!rows.length) return [];
    const ids = rows.map((r) => r.id);
    const marks = ids.map(() => '?').join(',');
    const latest = await em.execute<Array<{ template_id: string; latest: number }>>(
      `select template_id, max(version) as latest from ${V} where template_id in (${marks}) group by template_id`,
      ids,
    );
    const labels = await em.execute<LabelRow[]>(`select * from ${L} where template_id in (${marks}) order by name`, ids);
    const latestById = new Map(latest.map((l) => [l.template_id, Number(l.latest)]));
    return rows
      .filter((r) => latestById.has(r.id))
      .map((r) => ({
        ...r,
        latest: latestById.get(r.id)!,
        labels: Object.fromEntries(labels.filter((l) => l.template_id === r.id).map((l) => [l.name, l.version])),
      }));
  }
}
