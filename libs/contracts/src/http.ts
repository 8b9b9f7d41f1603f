import { z } from 'zod';
import { nameSchema } from './names';
import { DEFAULT_PRIORITY, RunIdPrefix, RunPriority, RunStatus } from './common';
import { ReplayMode, ReplayOverrides } from './replay';
import { FeatureName } from './templates';

/**
 * The header in which every service's readiness answer names its process id, so a
 * supervisor that started it on a port can tell its answer from another process's there.
 */
export const PROCESS_ID_HEADER = 'x-process-id';

/** Bodies of the gateway's REST API (DESIGN §6). Strict: unknown fields are a 400. */
export const CreateRunBody = z
  .strictObject({
    pipeline: z.string().min(1).optional(),
    spec: z.unknown().optional(),
    inputs: z.record(z.string(), z.unknown()).default({}),
    /** Who experiment assignment sticks to (a user or session id); default the run id. */
    subject: z.string().min(1).max(500).optional(),
    /** The feature type whose template overrides apply. */
    feature: z.string().min(1).max(100).optional(),
    /**
     * Stream model answers token by token, as `step.progress` events on the run's event
     * stream. Off by default: a streamed call costs the executor several times the CPU of a
     * whole one (bench/README.md), and most runs are read when they end.
     */
    stream: z.boolean().optional(),
    /**
     * 1 (lowest) to 5 (highest), default 3: the order in which the project's queued runs start
     * and its ready steps are dispatched when executors are busy (first come, first served
     * within a priority).
     */
    priority: RunPriority.default(DEFAULT_PRIORITY),
  })
  .refine((b) => (b.pipeline === undefined) !== (b.spec === undefined), {
    message: 'give exactly one of "pipeline" (a registered name) or "spec" (an inline pipeline)',
    path: ['pipeline'],
  });
export type CreateRunBody = z.infer<typeof CreateRunBody>;

/**
 * `POST /v1/runs/{id}/replay`: a new run from a finished one (docs/replay.md). `spec` replays
 * on another version of the pipeline (a JSON object or YAML text), as a regression check of a
 * change does.
 */
export const ReplayRunBody = z.strictObject({
  mode: ReplayMode,
  /** Fork from this step: it, the steps that depend on it and those an override touches run; every other step is carried over. */
  from: z.string().min(1).max(64).optional(),
  overrides: ReplayOverrides.extend({ spec: z.unknown().optional() }).optional(),
  /** As a new run's (a replay is one: queued while its project is at its limit, refused once a budget is spent). */
  priority: RunPriority.default(DEFAULT_PRIORITY),
});
export type ReplayRunBody = z.infer<typeof ReplayRunBody>;

/**
 * `GET /v1/runs`: newest first, a page at a time (`before` = the previous page's `next`), every
 * filter applied by the database (indexed; see the PlannerRunList migration).
 */
export const ListRunsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: z.string().optional(),
  status: RunStatus.optional(),
  pipeline: z.string().optional(),
  /** Runs created at or after this instant (ISO 8601 with an offset, e.g. `2026-05-01T00:00:00Z`). */
  created_from: z.iso.datetime({ offset: true }).optional(),
  /** Runs created before this instant. */
  created_to: z.iso.datetime({ offset: true }).optional(),
  /** A run id, or its first characters (at least 4). */
  id: RunIdPrefix.optional(),
  /** Text that one of the run's input values contains, case-insensitively. */
  input: z.string().min(1).max(200).optional(),
});

/** RFC 9457 problem details, with every validation issue listed. */
export const Problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  code: z.string().optional(),
  instance: z.string().optional(),
  errors: z
    .array(z.object({ path: z.string(), message: z.string(), line: z.number().optional(), column: z.number().optional() }))
    .optional(),
});
export type Problem = z.infer<typeof Problem>;

/** A project: every API key, pipeline, run and event stream belongs to exactly one. */
/**
 * What an admin may set of a project: its admission, its share of busy executors, its budgets
 * (null: back to the default), and whether its runs are recorded.
 */
const ProjectSettingsFields = {
  /** Runs this project may have running at once (more are queued); default `GATEWAY_MAX_RUNNING_RUNS`. */
  maxRunningRuns: z.number().int().min(1).max(100_000).nullable().optional(),
  /** Its share of busy executors against other projects' (fair dispatch, ADR 0014); default 1. */
  weight: z.number().int().min(1).max(1000).nullable().optional(),
  /** Tokens (input + output) it may use per UTC day; none by default. */
  maxTokensPerDay: z.number().int().min(1).nullable().optional(),
  /** USD (catalog prices) it may spend per UTC day; none by default. */
  maxCostPerDay: z.number().positive().nullable().optional(),
  /** Record every model and tool call of the project's runs, so they can be replayed (default true); off for privacy. Runs started from then on follow it. */
  recording: z.boolean().optional(),
};

export const CreateProjectBody = z.strictObject({
  id: nameSchema(),
  name: z.string().min(1).max(200).optional(),
  ...ProjectSettingsFields,
});
export type CreateProjectBody = z.infer<typeof CreateProjectBody>;

/** `PATCH /v1/projects/{id}`: the fields given change; null returns one to its default. */
export const UpdateProjectBody = z.strictObject({ name: z.string().min(1).max(200).optional(), ...ProjectSettingsFields });
export type UpdateProjectBody = z.infer<typeof UpdateProjectBody>;

export const ProjectView = z.object({
  id: z.string(),
  name: z.string(),
  maxRunningRuns: z.number().int().nullable(),
  /** Runs started from now on record their calls (replayable). */
  recording: z.boolean(),
  weight: z.number().int().nullable().default(null),
  maxTokensPerDay: z.number().int().nullable().default(null),
  maxCostPerDay: z.number().nullable().default(null),
  createdAt: z.string(),
});
export type ProjectView = z.infer<typeof ProjectView>;

export const CreateApiKeyBody = z.strictObject({
  name: z.string().min(1).max(200).optional(),
  /** Requests per minute for this key; default `GATEWAY_RATE_LIMIT_PER_MINUTE`. */
  rateLimitPerMinute: z.number().int().min(1).max(1_000_000).optional(),
});
export type CreateApiKeyBody = z.infer<typeof CreateApiKeyBody>;

/** A key as listed: never the secret, only its first characters. */
export const ApiKeyView = z.object({
  id: z.string(),
  project: z.string(),
  name: z.string(),
  prefix: z.string(),
  rateLimitPerMinute: z.number().int().nullable(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
});
export type ApiKeyView = z.infer<typeof ApiKeyView>;

/** The answer to creating a key: the only time the secret is shown. */
export const CreatedApiKey = ApiKeyView.extend({ key: z.string() });
export type CreatedApiKey = z.infer<typeof CreatedApiKey>;

/** `Idempotency-Key` header of `POST /v1/runs`. */
export const IdempotencyKey = z.string().min(1).max(255).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

/** `{version}` of `GET /v1/pipelines/{name}/versions/{version}`. */
export const PipelineVersion = z.coerce.number().int().positive();

/**
 * `?override_alignment=true` on `POST /v1/pipelines`, `POST /v1/pipelines/validate` and
 * `POST /v1/runs` (an inline spec): accept a pipeline the orchestrator model found misaligned
 * (`orchestrator.check_alignment`).
 */
export const OverrideAlignmentQuery = z.strictObject({ override_alignment: z.enum(['true', 'false']).optional() });

/** `POST /v1/pipelines` and `/validate`: the alignment override, and the feature whose override of the analysis prompt applies. */
export const PipelineQuery = OverrideAlignmentQuery.extend({ feature: FeatureName.optional() });

/**
 * What an audit record says was done: every state-changing call of the API (PRD NFR4). The
 * first token names the resource kind, the second the change.
 */
export const AuditAction = z.enum([
  'project.create',
  'project.update',
  'key.create',
  'key.revoke',
  'pipeline.register',
  'run.start',
  'run.cancel',
  'run.resume',
  'run.replay',
  'run.import',
  'template.create',
  'template.label',
  'experiment.create',
  'experiment.start',
  'experiment.stop',
  'experiment.promote',
  'chat.complete',
]);
export type AuditAction = z.infer<typeof AuditAction>;

/**
 * One state-changing call: who (an API key's id, or `admin` for the admin token), in which
 * project, what (action and resource), when, and how it ended. Never key material, prompts,
 * inputs or bodies.
 */
export const AuditRecord = z.object({
  id: z.string(),
  at: z.string(),
  /** The project the call acted in: the key's project, or for the admin token the project it named. */
  project: z.string().nullable(),
  /** The API key's id, or `admin`. */
  actor: z.string(),
  action: AuditAction,
  /** `<kind>/<id>` of what it acted on (`runs/<id>`, `pipelines/<name>`, `templates/<name>`, `experiments/<id>`, `projects/<id>`, `keys/<id>`), when known. */
  resource: z.string().nullable(),
  outcome: z.enum(['success', 'error']),
  /** The HTTP status of the answer. */
  status: z.number().int(),
  /** The problem's `code` when the call failed. */
  error: z.string().nullable(),
});
export type AuditRecord = z.infer<typeof AuditRecord>;

/** `GET /v1/audit`: newest first, a page at a time (`before` = the last id of the previous page). */
export const ListAuditQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: z.uuid().optional(),
  action: AuditAction.optional(),
  actor: z.string().min(1).max(255).optional(),
  resource: z.string().min(1).max(400).optional(),
  /** Records at or after this instant (ISO 8601 with an offset). */
  since: z.iso.datetime({ offset: true }).optional(),
  /** Records before this instant. */
  until: z.iso.datetime({ offset: true }).optional(),
  /** Admin token only (a key sees its own project). */
  project: z.string().min(1).max(63).optional(),
});
export type ListAuditQuery = z.infer<typeof ListAuditQuery>;

export const AuditList = z.object({ items: z.array(AuditRecord), next: z.string().nullable() });
export type AuditList = z.infer<typeof AuditList>;
