import { Injectable } from '@nestjs/common';
import type { UpdateProjectBody } from '@trellis/contracts';
import { Database } from '@trellis/persistence';

export interface ProjectRow extends ProjectSettingsRow {
  id: string;
  name: string;
  created_at: Date;
}

/** What the planner enforces for a project's runs (null: the default), and whether they are recorded. */
export interface ProjectSettingsRow {
  max_running_runs: number | null;
  weight: number | null;
  max_tokens_per_day: string | number | null;
  max_cost_per_day: number | null;
  recording: boolean;
}

/** The settings of `UpdateProjectBody`, column by column: given → set (null clears), absent → kept. */
const SETTINGS = [
  ['maxRunningRuns', 'max_running_runs'],
  ['weight', 'weight'],
  ['maxTokensPerDay', 'max_tokens_per_day'],
  ['maxCostPerDay', 'max_cost_per_day'],
  ['recording', 'recording'],
] as const;

/** A project's settings as the admin API gives them. */
export type ProjectSettings = Omit<UpdateProjectBody, 'name'>;

export interface ApiKeyRow {
  id: string;
  project: string;
  name: string;
  prefix: string;
  rate_limit_per_minute: number | null;
  created_at: Date;
  revoked_at: Date | null;
}

/** SQL over the gateway's own schema: projects and the hashes of their API keys. */
@Injectable()
export class ProjectRepository {
  constructor(private readonly db: Database) {}

  private exec<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.db.orm.em.getConnection().execute<T[]>(sql, params);
  }

  /** Inserts the project; false when the id is taken. */
  async insertProject(p: { id: string; name: string } & ProjectSettings): Promise<ProjectRow | undefined> {
    const rows = await this.exec<ProjectRow>(
      `insert into "gateway"."project" (id, name, max_running_runs, weight, max_tokens_per_day, max_cost_per_day, recording) values (?, ?, ?, ?, ?, ?, ?) on conflict (id) do nothing returning *`,
      [p.id, p.name, p.maxRunningRuns ?? null, p.weight ?? null, p.maxTokensPerDay ?? null, p.maxCostPerDay ?? null, p.recording ?? true],
    );
    return rows[0];
  }

  /** Changes the given settings (and name); undefined when there is no such project. */
  async updateProject(id: string, p: { name?: string } & ProjectSettings): Promise<ProjectRow | undefined> {
    const sets: string[] = [];
    const params: unknown[] = [];
    if (p.name !== undefined) {
      sets.push('name = ?');
      params.push(p.name);
    }
    for (const [field, column] of SETTINGS) {
      if (p[field] === undefined) continue;
      sets.push(`${column} = ?`);
      params.push(p[field]);
    }
    if (!sets.length) return this.findProject(id);
    return (await this.exec<ProjectRow>(`update "gateway"."project" set ${sets.join(', ')} where id = ? returning *`, [...params, id]))[0];
  }

  async ensureProject(id: string, name: string): Promise<void> {
    await this.exec(`insert into "gateway"."project" (id, name) values (?, ?) on conflict (id) do nothing`, [id, name]);
  }

  async findProject(id: string): Promise<ProjectRow | undefined> {
    return (await this.exec<ProjectRow>(`select * from "gateway"."project" where id = ?`, [id]))[0];
  }

  async insertKey(k: { id: string; project: string; name: string; prefix: string; hash: string; rateLimitPerMinute: number | null }): Promise<ApiKeyRow> {
    const rows = await this.exec<ApiKeyRow>(
      `insert into "gateway"."api_key" (id, project, name, prefix, hash, rate_limit_per_minute) values (?, ?, ?, ?, ?, ?)
       returning id, project, name, prefix, rate_limit_per_minute, created_at, revoked_at`,
      [k.id, k.project, k.name, k.prefix, k.hash, k.rateLimitPerMinute],
    );
    return rows[0]!;
  }

  /** The key row with this id, pointed at a new hash: the environment's key may change between starts. */
  async upsertKey(k: { id: string; project: string; name: string; prefix: string; hash: string }): Promise<void> {
    await this.exec(
      `insert into "gateway"."api_key" (id, project, name, prefix, hash) values (?, ?, ?, ?, ?)
       on conflict (id) do update set hash = excluded.hash, prefix = excluded.prefix, revoked_at = null`,
      [k.id, k.project, k.name, k.prefix, k.hash],
    );
  }

  async findActiveKeyByHash(hash: string): Promise<(ApiKeyRow & ProjectSettingsRow) | undefined> {
    const rows = await this.exec<ApiKeyRow & ProjectSettingsRow>(
      `select k.id, k.project, k.name, k.prefix, k.rate_limit_per_minute, k.created_at, k.revoked_at, p.max_running_runs, p.weight, p.max_tokens_per_day, p.max_cost_per_day, p.recording
       from "gateway"."api_key" k join "gateway"."project" p on p.id = k.project
       where k.hash = ? and k.revoked_at is null`,
      [hash],
    );
    return rows[0];
  }

  async listKeys(project: string): Promise<ApiKeyRow[]> {
    return this.exec<ApiKeyRow>(
      `select id, project, name, prefix, rate_limit_per_minute, created_at, revoked_at from "gateway"."api_key" where project = ? order by created_at, id`,
      [project],
    );
  }

  /** Revokes the key; false when the project has no such key. */
  async revokeKey(project: string, keyId: string): Promise<boolean> {
    const rows = await this.exec<{ id: string }>(
      `update "gateway"."api_key" set revoked_at = coalesce(revoked_at, now()) where project = ? and id = ? returning id`,
      [project, keyId],
    );
    return rows.length > 0;
  }
}
