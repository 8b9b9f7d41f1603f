import { Inject, Injectable } from '@nestjs/common';
import type { FailureInfo, ProjectBudget, ProjectUsage } from '@trellis/contracts';
import { BUDGET_EXHAUSTED } from '@trellis/engine';
import { Database, sqlLiteral, sqlTable } from '@trellis/persistence';
import { logger } from '@trellis/telemetry';
import { PLANNER_CONFIG, type PlannerConfig } from '../config';
import { RunSql } from '../runs/run-table';

/** What the planner enforces for a project; the gateway owns projects and sends these with every start. */
export interface ProjectSettings {
  maxRunning: number;
  weight: number;
  budget: ProjectBudget;
}

/** How long a project's usage is taken as current: budgets are enforced to within this. */
const USAGE_TTL_MS = 1_000;

const MS_PER_DAY = 24 * 60 * 60 * 1000;

/**
 * Project settings (concurrency limit, fair-share weight, budgets) as the planner keeps them
 * (`project_admission`, written when a start brings new values, so that admission passes and
 * fair dispatch, which no request brings, know them), and each project's usage today against
 * its budget (read from the runs, cached for a second).
 */
@Injectable()
export class ProjectSettingsService {
  private readonly log = logger('admission.settings');
  private readonly settings = new Map<string, ProjectSettings>();
  private readonly usage = new Map<string, { at: number; value: ProjectUsage; refreshing?: Promise<ProjectUsage> }>();
  private readonly table: string;
  private readonly sql: RunSql;

  constructor(
    @Inject(PLANNER_CONFIG) private readonly config: PlannerConfig,
    private readonly db: Database,
  ) {
    this.table = sqlTable(db.schema, 'project_admission');
    this.sql = new RunSql(db.schema);
  }

  /** Stores what a start request says of its project, when it differs from what is stored. */
  async remember(project: string, given: Partial<ProjectSettings>): Promise<ProjectSettings> {
    const current = await this.of(project);
    const next: ProjectSettings = {
      maxRunning: given.maxRunning ?? current.maxRunning,
      weight: given.weight ?? current.weight,
      budget: given.budget ?? current.budget,
    };
    if (JSON.stringify(next) !== JSON.stringify(current) || !this.stored.has(project)) {
      await this.db.sqlQuery([
        `insert into ${this.table} ("project", "max_running", "weight", "max_tokens_per_day", "max_cost_per_day", "updated_at")
         values (${sqlLiteral(project, 'text')}, ${sqlLiteral(next.maxRunning, 'int')}, ${sqlLiteral(next.weight, 'int')}, ${sqlLiteral(next.budget.maxTokensPerDay ?? null, 'int')}, ${sqlLiteral(next.budget.maxCostPerDay ?? null, 'float')}, now())
         on conflict ("project") do update set "max_running" = excluded."max_running", "weight" = excluded."weight",
           "max_tokens_per_day" = excluded."max_tokens_per_day", "max_cost_per_day" = excluded."max_cost_per_day", "updated_at" = now()`,
      ]);
      this.stored.add(project);
    }
    this.settings.set(project, next);
    return next;
  }

  private readonly stored = new Set<string>();

  /** A project's settings: as last stored, else the planner's defaults. */
  async of(project: string): Promise<ProjectSettings> {
    const cached = this.settings.get(project);
    if (cached) return cached;
    const [found] = await this.db.sqlQuery([`select * from ${this.table} where "project" = ${sqlLiteral(project, 'text')}`]);
    const row = found?.rows[0];
    const settings: ProjectSettings = row
      ? {
          maxRunning: Number(row.max_running),
          weight: Number(row.weight),
          budget: {
            ...(row.max_tokens_per_day !== null ? { maxTokensPerDay: Number(row.max_tokens_per_day) } : {}),
            ...(row.max_cost_per_day !== null ? { maxCostPerDay: Number(row.max_cost_per_day) } : {}),
          },
        }
      : { maxRunning: this.config.PLANNER_DEFAULT_MAX_RUNNING, weight: 1, budget: {} };
    if (row) this.stored.add(project);
    this.settings.set(project, settings);
    return settings;
  }

  /** The weight a project's steps get in fair dispatch (1 until known). */
  weightOf(project: string): number {
    return this.settings.get(project)?.weight ?? 1;
  }

  /**
   * The project's usage today (UTC): at most a second old for decisions, read now (and cached)
   * with `fresh` — what a user asks for must count the run that just ended.
   */
  async usageOf(project: string, fresh = false): Promise<ProjectUsage> {
    const cached = this.usage.get(project);
    if (!fresh && cached && Date.now() - cached.at < USAGE_TTL_MS) return cached.value;
    if (!fresh && cached?.refreshing) return cached.refreshing;
    const refreshing = this.readUsage(project);
    this.usage.set(project, { at: cached?.at ?? 0, value: cached?.value ?? emptyUsage(project), refreshing });
    try {
      const value = await refreshing;
      this.usage.set(project, { at: Date.now(), value });
      return value;
    } catch (err) {
      this.usage.set(project, { at: cached?.at ?? 0, value: cached?.value ?? emptyUsage(project) });
      throw err;
    }
  }

  /**
   * What is left of the project's budget for the day, for a decision (the engine refuses to
   * dispatch once a change uses it up), with the failure naming the budget. From the cached usage
   * — kept current by `record` after every commit of this planner, and read again in the
   * background once a second old (other planners' work) — so a decision never waits on it.
   */
  remaining(project: string): { tokens?: number; cost?: number; failure: FailureInfo } | undefined {
    const budget = this.settings.get(project)?.budget;
    if (!budget || (budget.maxTokensPerDay === undefined && budget.maxCostPerDay === undefined)) return undefined;
    const cached = this.usage.get(project);
    if (!cached || Date.now() - cached.at >= USAGE_TTL_MS) void this.usageOf(project).catch((err: unknown) => this.log.warn({ err, project }, 'usage not refreshed'));
    const used = cached?.value ?? emptyUsage(project);
    const tokens = used.usage.inputTokens + used.usage.outputTokens;
    const parts = [
      ...(budget.maxTokensPerDay !== undefined ? [`maxTokensPerDay (${budget.maxTokensPerDay} tokens)`] : []),
      ...(budget.maxCostPerDay !== undefined ? [`maxCostPerDay ($${budget.maxCostPerDay})`] : []),
    ];
    return {
      ...(budget.maxTokensPerDay !== undefined ? { tokens: budget.maxTokensPerDay - tokens } : {}),
      ...(budget.maxCostPerDay !== undefined ? { cost: budget.maxCostPerDay - used.cost } : {}),
      failure: { code: BUDGET_EXHAUSTED, message: `the project's budget for the day is spent: ${parts.join(', ')}`, retryable: false },
    };
  }

  /** Usage this planner just committed, counted at once (the next read from the database includes it). */
  record(project: string, tokens: number, cost: number): void {
    const cached = this.usage.get(project);
    if (!cached || (tokens === 0 && cost === 0)) return;
    const u = cached.value;
    cached.value = { ...u, usage: { ...u.usage, outputTokens: u.usage.outputTokens + tokens }, cost: u.cost + cost };
  }

  /** At submission: the budget checked against usage at most a second old. */
  async check(project: string): Promise<(FailureInfo & { retryAfterSeconds: number }) | undefined> {
    const budget = (await this.of(project)).budget;
    if (budget.maxTokensPerDay === undefined && budget.maxCostPerDay === undefined) return undefined;
    return exhausted(budget, await this.usageOf(project));
  }

  private async readUsage(project: string): Promise<ProjectUsage> {
    const [found] = await this.db.sqlQuery([this.sql.usageToday(project)]);
    const row = found?.rows[0] ?? {};
    return {
      project,
      day: new Date().toISOString().slice(0, 10),
      usage: { inputTokens: Number(row.inputTokens ?? 0), outputTokens: Number(row.outputTokens ?? 0) },
      cost: Number(row.cost ?? 0),
      runs: { started: Number(row.started ?? 0), running: Number(row.running ?? 0), queued: Number(row.queued ?? 0) },
    };
  }
}

function emptyUsage(project: string): ProjectUsage {
  return { project, day: new Date().toISOString().slice(0, 10), usage: { inputTokens: 0, outputTokens: 0 }, cost: 0, runs: { started: 0, running: 0, queued: 0 } };
}

/** The failure of a spent budget, naming it, or undefined when neither budget is spent. */
function exhausted(budget: ProjectBudget, usage: ProjectUsage): (FailureInfo & { retryAfterSeconds: number }) | undefined {
  const tokens = usage.usage.inputTokens + usage.usage.outputTokens;
  const retryAfterSeconds = Math.max(1, Math.ceil((MS_PER_DAY - (Date.now() % MS_PER_DAY)) / 1000));
  if (budget.maxTokensPerDay !== undefined && tokens >= budget.maxTokensPerDay) {
    return { code: BUDGET_EXHAUSTED, message: `the project has used ${tokens} tokens today (UTC), its maxTokensPerDay is ${budget.maxTokensPerDay}`, retryable: false, retryAfterSeconds };
  }
  if (budget.maxCostPerDay !== undefined && usage.cost >= budget.maxCostPerDay) {
    return { code: BUDGET_EXHAUSTED, message: `the project has spent $${usage.cost.toFixed(4)} today (UTC), its maxCostPerDay is $${budget.maxCostPerDay}`, retryable: false, retryAfterSeconds };
  }
  return undefined;
}
