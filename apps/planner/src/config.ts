import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { CommonEnv, DatabaseEnv, parseEnv } from '@trellis/runtime';

const PlannerEnv = z.object({
  ...CommonEnv,
  ...DatabaseEnv,
  /** The model a step runs on when neither the step nor the pipeline names one. */
  TRELLIS_DEFAULT_MODEL: z.string().min(1).default('gpt-4.1-mini'),
  /** The model provider the orchestrator model is called through (as the executor's); unset disables analysis. */
  OPENAI_BASE_URL: z.string().url().optional(),
  OPENAI_API_KEY: z.string().default('not-needed'),
  /** The providers file (docs/providers.md): its model catalog drives expert selection, capability checks and cost estimates. */
  TRELLIS_PROVIDERS: z.string().optional(),
  /** Personalities: `<name>.md` files whose text becomes the system message of pipelines naming them. */
  TRELLIS_PERSONALITIES_DIR: z.string().default(join(homedir(), '.trellis', 'personalities')),
  /** Finished runs (succeeded, failed, cancelled) older than this are deleted with their steps; 0 keeps them. */
  PLANNER_RUN_RETENTION_DAYS: z.coerce.number().min(0).max(36_500).default(30),
  /** How often the retention sweep runs. */
  PLANNER_RETENTION_INTERVAL_MS: z.coerce.number().int().min(1_000).default(60 * 60 * 1000),
  /**
   * Continuations (ADR 0013): a step's job carries the jobs its success alone makes ready, which
   * the executor publishes with its answer, so the next step does not wait for the planner.
   */
  PLANNER_CONTINUATIONS: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  /** Runs a project may have running at once when the gateway has not said (it sends each project's `maxRunningRuns` with every start). */
  PLANNER_DEFAULT_MAX_RUNNING: z.coerce.number().int().min(1).max(100_000).default(100),
  /**
   * Fair dispatch (ADR 0014): a pool's work queue holds about twice as many steps as its executors
   * are working on, and at least this many; past that, newly ready steps wait in the planner and leave
   * in weighted-fair order across projects (priority first within one) as slots free.
   * 0 turns fair dispatch off (first come, first served).
   */
  PLANNER_DISPATCH_BACKLOG: z.coerce.number().int().min(0).max(100_000).default(8),
  /** Step results taken at once: those that arrive together are applied in one transaction (group commit). */
  PLANNER_CONCURRENCY: z.coerce.number().int().min(1).max(1024).default(256),
});
export type PlannerConfig = z.infer<typeof PlannerEnv>;

export const PLANNER_CONFIG = Symbol('PLANNER_CONFIG');

export function loadPlannerConfig(env: NodeJS.ProcessEnv = process.env): PlannerConfig {
  return parseEnv('planner', PlannerEnv, env);
}
