import { Injectable } from '@nestjs/common';
import type { PipelineSpec } from '@trellis/contracts';
import { sqlLiteral, uuidv7, type Database, type EntityManager } from '@trellis/persistence';
import { Pipeline, Spec } from './pipeline.entity';

@Injectable()
export class PipelineRepository {
  /** Stores a spec by its content hash; storing the same spec twice is a no-op. */
  async saveSpec(em: EntityManager, hash: string, spec: PipelineSpec): Promise<void> {
    await em.upsert(Spec, { hash, spec, createdAt: new Date() }, { onConflictAction: 'ignore', onConflictFields: ['hash'] });
  }

  /** The spec and number of a pipeline's latest version, in one round trip outside the ORM: every run start asks. */
  async latestVersion(db: Database, project: string, name: string): Promise<{ specHash: string; version: number } | undefined> {
    const [found] = await db.sqlQuery([
      `select "spec_hash", "version" from "${db.schema}"."pipeline" where "project" = ${sqlLiteral(project, 'text')} and "name" = ${sqlLiteral(name, 'text')} order by "version" desc limit 1`,
    ]);
    const row = found?.rows[0];
    return row ? { specHash: String(row.spec_hash), version: Number(row.version) } : undefined;
  }

  /** The spec of one registered version, in one round trip (a pipeline-version experiment's variant at run start). */
  async versionHash(db: Database, project: string, name: string, version: number): Promise<string | undefined> {
    const [found] = await db.sqlQuery([
      `select "spec_hash" from "${db.schema}"."pipeline" where "project" = ${sqlLiteral(project, 'text')} and "name" = ${sqlLiteral(name, 'text')} and "version" = ${sqlLiteral(version, 'int')}`,
    ]);
    const row = found?.rows[0];
    return row ? String(row.spec_hash) : undefined;
  }

  latest(em: EntityManager, project: string, name: string): Promise<Pipeline | null> {
    return em.findOne(Pipeline, { project, name }, { orderBy: { version: 'desc' } });
  }

  version(em: EntityManager, project: string, name: string, version: number): Promise<Pipeline | null> {
    return em.findOne(Pipeline, { project, name, version });
  }

  /** Every version of one pipeline, newest first (the unique key (project, name, version) serves it). */
  versions(em: EntityManager, project: string, name: string): Promise<Pipeline[]> {
    return em.find(Pipeline, { project, name }, { orderBy: { version: 'desc' } });
  }

  async specOf(em: EntityManager, hash: string): Promise<PipelineSpec> {
    return (await em.findOneOrFail(Spec, { hash })).spec;
  }

  /**
   * Adds the next version of a pipeline, unless the latest version already has this spec
   * (registering the same file twice does not mint a version). The unique key on
   * (project, name, version) settles a race between two registrations.
   */
  async addVersion(em: EntityManager, project: string, name: string, hash: string, description: string | undefined): Promise<Pipeline> {
    const latest = await this.latest(em, project, name);
    if (latest && latest.specHash === hash) return latest;
    return em.create(Pipeline, {
      id: uuidv7(),
      project,
      name,
      version: (latest?.version ?? 0) + 1,
      specHash: hash,
      description: description ?? null,
      createdAt: new Date(),
    });
  }

  /** The latest version of every pipeline of a project. */
  async listLatest(em: EntityManager, project: string): Promise<Pipeline[]> {
    const all = await em.find(Pipeline, { project }, { orderBy: { name: 'asc', version: 'desc' } });
    const seen = new Set<string>();
    return all.filter((p) => !seen.has(p.name) && seen.add(p.name));
  }
}
