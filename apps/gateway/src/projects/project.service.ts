import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { ApiKeyView, CreateApiKeyBody, CreateProjectBody, CreatedApiKey, ProjectBudget, ProjectView, UpdateProjectBody } from '@trellis/contracts';
import { uuidv7 } from '@trellis/persistence';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config';
import { GatewayError } from '../http/gateway.errors';
import { hashApiKey, newApiKey, visiblePrefix } from './api-key';
import { ProjectRepository, type ApiKeyRow, type ProjectRow, type ProjectSettingsRow } from './project.repository';

/** Who is calling: the key, the project it is scoped to, that key's limit and the project's settings. */
export interface Principal {
  keyId: string;
  project: string;
  rateLimitPerMinute: number;
  maxRunningRuns: number;
  /** The project records its runs' calls (replayable). */
  recording: boolean;
  /** Its share of busy executors (fair dispatch); default 1. */
  weight: number;
  budget: ProjectBudget;
}

export const DEFAULT_PROJECT = 'default';
/** The row of the key from `TRELLIS_API_KEY`, re-pointed at its hash on every start. */
const ENV_KEY_ID = 'env-trellis-api-key';

@Injectable()
export class ProjectService implements OnApplicationBootstrap {
  constructor(
    private readonly repo: ProjectRepository,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  /** `TRELLIS_API_KEY` keeps working: project `default` and that key exist after every start. */
  async onApplicationBootstrap(): Promise<void> {
    await this.repo.ensureProject(DEFAULT_PROJECT, 'Default project');
    const key = this.config.TRELLIS_API_KEY;
    await this.repo.upsertKey({ id: ENV_KEY_ID, project: DEFAULT_PROJECT, name: 'TRELLIS_API_KEY', prefix: visiblePrefix(key), hash: hashApiKey(key) });
  }

  async authenticate(key: string): Promise<Principal | undefined> {
    const row = await this.repo.findActiveKeyByHash(hashApiKey(key));
    if (!row) return undefined;
    return {
      keyId: row.id,
      project: row.project,
      rateLimitPerMinute: row.rate_limit_per_minute ?? this.config.GATEWAY_RATE_LIMIT_PER_MINUTE,
      maxRunningRuns: row.max_running_runs ?? this.config.GATEWAY_MAX_RUNNING_RUNS,
      recording: row.recording,
      weight: row.weight ?? 1,
      budget: budgetOf(row),
    };
  }

  async createProject(body: CreateProjectBody): Promise<ProjectView> {
    const { id, name, ...settings } = body;
    const row = await this.repo.insertProject({ id, name: name ?? id, ...settings });
    if (!row) throw new GatewayError('conflict', `the project "${body.id}" already exists`);
    return projectView(row);
  }

  async getProject(id: string): Promise<ProjectView> {
    return projectView(await this.requireProject(id));
  }

  async updateProject(id: string, body: UpdateProjectBody): Promise<ProjectView> {
    const row = await this.repo.updateProject(id, body);
    if (!row) throw new GatewayError('not_found', `no project "${id}"`);
    return projectView(row);
  }

  /** A project's settings as the planner enforces them (its defaults filled in). */
  async settingsOf(id: string): Promise<Pick<Principal, 'maxRunningRuns' | 'weight' | 'budget'>> {
    const row = await this.requireProject(id);
    return { maxRunningRuns: row.max_running_runs ?? this.config.GATEWAY_MAX_RUNNING_RUNS, weight: row.weight ?? 1, budget: budgetOf(row) };
  }

  async createKey(project: string, body: CreateApiKeyBody): Promise<CreatedApiKey> {
    await this.requireProject(project);
    const key = newApiKey();
    const row = await this.repo.insertKey({
      id: uuidv7(),
      project,
      name: body.name ?? 'api key',
      prefix: visiblePrefix(key),
      hash: hashApiKey(key),
      rateLimitPerMinute: body.rateLimitPerMinute ?? null,
    });
    return { ...keyView(row), key };
  }

  async listKeys(project: string): Promise<{ items: ApiKeyView[] }> {
    await this.requireProject(project);
    return { items: (await this.repo.listKeys(project)).map(keyView) };
  }

  async revokeKey(project: string, keyId: string): Promise<void> {
    if (!(await this.repo.revokeKey(project, keyId))) throw new GatewayError('not_found', `the project "${project}" has no key "${keyId}"`);
  }

  private async requireProject(id: string): Promise<ProjectRow> {
    const row = await this.repo.findProject(id);
    if (!row) throw new GatewayError('not_found', `no project "${id}"`);
    return row;
  }
}

const iso = (d: Date | string) => (d instanceof Date ? d.toISOString() : new Date(d).toISOString());

function projectView(r: ProjectRow): ProjectView {
  return {
    id: r.id,
    name: r.name,
    maxRunningRuns: r.max_running_runs,
    weight: r.weight,
    maxTokensPerDay: r.max_tokens_per_day === null ? null : Number(r.max_tokens_per_day),
    maxCostPerDay: r.max_cost_per_day,
    recording: r.recording,
    createdAt: iso(r.created_at),
  };
}

function budgetOf(r: ProjectSettingsRow): ProjectBudget {
  return {
    ...(r.max_tokens_per_day !== null ? { maxTokensPerDay: Number(r.max_tokens_per_day) } : {}),
    ...(r.max_cost_per_day !== null ? { maxCostPerDay: Number(r.max_cost_per_day) } : {}),
  };
}

function keyView(r: ApiKeyRow): ApiKeyView {
  return {
    id: r.id,
    project: r.project,
    name: r.name,
    prefix: r.prefix,
    rateLimitPerMinute: r.rate_limit_per_minute,
    createdAt: iso(r.created_at),
    revokedAt: r.revoked_at ? iso(r.revoked_at) : null,
  };
}
