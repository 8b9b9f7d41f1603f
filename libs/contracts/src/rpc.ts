import { z } from 'zod';
import { ChatMessage, DEFAULT_PRIORITY, FailureInfo, RunId, RunIdPrefix, RunPriority, RunStatus, StepStatus, TokenUsage } from './common';
import { StopReason, Verdict, Violation } from './events';
import { IteratePolicySpec, Selection } from './pipeline-spec';
import { RecordedCall, ReplayMode, ReplayOverrides, RunSource } from './replay';
import {
  checkExperimentFields,
  CreatedTemplateVersion,
  ExperimentFields,
  CreateTemplateBody,
  ExperimentStatus,
  ExperimentSummary,
  ExperimentView,
  FeatureName,
  LabelName,
  LabelView,
  ModelParameters,
  RenderedTemplate,
  TemplateBody,
  TemplateCategory,
  TemplateLevel,
  TemplateLookup,
  TemplateSummary,
} from './templates';

/**
 * Request/reply between services (core NATS, queue groups). Every reply is an `RpcReply`:
 * domain errors travel as data with a code; the gateway alone maps codes to HTTP.
 */
export const ErrorCode = z.enum([
  'invalid_argument',
  'not_found',
  'conflict',
  'failed_precondition',
  'unavailable',
  /** A limit was reached (e.g. a project's running runs); retry later. */
  'resource_exhausted',
  'internal',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

/** One validation problem: where (document path, and YAML line/column when known) and what. */
export const Issue = z.object({
  path: z.array(z.union([z.string(), z.number()])),
  message: z.string(),
  line: z.number().int().positive().optional(),
  column: z.number().int().positive().optional(),
});
export type Issue = z.infer<typeof Issue>;

export const RpcError = z.object({
  code: ErrorCode,
  message: z.string(),
  issues: z.array(Issue).optional(),
});
export type RpcError = z.infer<typeof RpcError>;

const replyOf = <T extends z.ZodType>(data: T) =>
  z.discriminatedUnion('ok', [z.object({ ok: z.literal(true), data }), z.object({ ok: z.literal(false), error: RpcError })]);
const replies = new WeakMap<z.ZodType, ReturnType<typeof replyOf>>();

/**
 * The reply schema of a method whose reply data is `data`. Built once per data schema: zod
 * compiles a schema on its first parse, and a schema built per call was compiled per call
 * (about a millisecond of the gateway's CPU for every run it started).
 */
export function rpcReply<T extends z.ZodType>(data: T): ReturnType<typeof replyOf<T>> {
  let reply = replies.get(data);
  if (!reply) replies.set(data, (reply = replyOf(data)));
  return reply as ReturnType<typeof replyOf<T>>;
}
export type RpcReply<T> = { ok: true; data: T } | { ok: false; error: RpcError };

/** A method: its name (last subject token), its request and its reply data. */
export interface RpcMethod<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType> {
  readonly service: string;
  readonly method: string;
  readonly request: Req;
  readonly response: Res;
}
const method = <Req extends z.ZodType, Res extends z.ZodType>(service: string, name: string, request: Req, response: Res): RpcMethod<Req, Res> => ({
  service,
  method: name,
  request,
  response,
});

/**
 * A service's readiness to answer: served after every other method of the service, so an
 * answer means they are all served. The gateway's readiness waits on it (docs/operations.md).
 */
const ping = (service: string) => method(service, 'ping', z.object({}), z.object({}));

/** The pipeline source as a user sent it: YAML text (positions for errors) or a JSON object. */
export const SpecSource = z.union([
  z.object({ yaml: z.string().max(1_000_000) }),
  z.object({ json: z.unknown() }),
]);
export type SpecSource = z.infer<typeof SpecSource>;

export const PlanView = z.object({
  order: z.array(z.string()),
  /** Parallel levels: the steps of a batch can run at the same time. */
  batches: z.array(z.array(z.string())),
  /** The longest chain of steps, which bounds the run's wall time. */
  criticalPath: z.array(z.string()).default([]),
  steps: z.array(
    z.object({
      id: z.string(),
      kind: z.enum(['prompt', 'template', 'tool']).default('prompt'),
      dependsOn: z.array(z.string()),
      model: z.string(),
      /** Why this model (named by the step, chosen among an expert's candidates, a default). */
      modelReason: z.string().default(''),
      pool: z.string(),
      routedFrom: z.array(z.object({ from: z.string(), when: z.enum(['false', 'success', 'failure']) })).default([]),
      condition: z.string().optional(),
    }),
  ),
  /** USD for one run, low and high, from the model catalog's prices; null without a catalog. */
  estimatedCost: z.object({ min: z.number(), max: z.number() }).nullable().default(null),
});
export type PlanView = z.infer<typeof PlanView>;

/** What the orchestrator model said of a pipeline, cached by spec hash. */
export const PipelineAnalysis = z.object({
  /** What the pipeline is for: 3–10 sentences of Markdown. */
  intention: z.string(),
  /** How it works: control flow, dependencies, where models and tools are used. */
  architecture: z.string(),
  /** Whether the architecture serves the intention, and what to change when it does not. */
  aligned: z.boolean(),
  feedback: z.string(),
  model: z.string(),
});
export type PipelineAnalysis = z.infer<typeof PipelineAnalysis>;

export const PipelineView = z.object({
  name: z.string(),
  version: z.number().int().positive(),
  description: z.string().optional(),
  hash: z.string(),
  spec: z.unknown(),
  plan: PlanView,
  /** Present when the spec names an orchestrator model. */
  analysis: PipelineAnalysis.nullable().default(null),
  createdAt: z.string(),
});
export type PipelineView = z.infer<typeof PipelineView>;

/** A pipeline version as listed: without its spec, plan and analysis. */
export const PipelineSummary = PipelineView.omit({ spec: true, plan: true, analysis: true });
export type PipelineSummary = z.infer<typeof PipelineSummary>;

/** What a strategy variant changes in a run: the pipeline version it runs, its selection mode, or its gated steps' iteration policy. */
export const StrategyVariant = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('pipeline'), version: z.number().int().positive() }),
  z.object({ kind: z.literal('selection'), selection: Selection }),
  z.object({ kind: z.literal('policy'), policy: IteratePolicySpec }),
]);
export type StrategyVariant = z.infer<typeof StrategyVariant>;

/** A strategy experiment's assignment for one run: which experiment, which variant, and what it changes. */
export const StrategyPin = z.object({
  experiment: z.object({ id: z.string(), variant: z.string() }),
  variant: StrategyVariant,
});
export type StrategyPin = z.infer<typeof StrategyPin>;

/** One round of a step's verification loop (generate → verify), as the run reports it. */
export const IterationView = z.object({
  iteration: z.number().int().positive(),
  attempt: z.number().int().positive(),
  model: z.string(),
  /** null until verified. */
  score: z.number().nullable(),
  categories: z.record(z.string(), z.number()),
  violations: z.array(Violation),
  verdict: Verdict.nullable(),
  /** Set on the round that ended the loop. */
  stop: StopReason.nullable(),
  /** Generation plus verification, ms; null while running. */
  durationMs: z.number().nullable(),
  /** The generation's tokens. */
  usage: TokenUsage,
  /** The judge's tokens. */
  judgeUsage: TokenUsage.nullable(),
  /** The round's prompt carried the previous round's feedback. */
  feedbackUsed: z.boolean(),
  /** The round revised the best earlier candidate rather than the previous round's, which had not improved on it (the verdict's `reviseBest`). */
  revisedBest: z.boolean(),
  /** The round ran on the escalated model. */
  escalated: z.boolean(),
  /** Output fields this round kept from the candidate it revised (`iterate.reuse`) instead of writing them again. */
  reusedFields: z.array(z.string()).default([]),
  /** Output tokens the kept fields cost when they were written, so not spent again in this round (estimated from that round's usage). */
  outputTokensSaved: z.number().int().nonnegative().default(0),
});
export type IterationView = z.infer<typeof IterationView>;

export const StepView = z.object({
  id: z.string(),
  status: StepStatus,
  attempt: z.number().int().nonnegative(),
  dependsOn: z.array(z.string()),
  model: z.string(),
  output: z.string().nullable(),
  /** The parsed value of a JSON output. */
  structured: z.unknown().optional(),
  /** The model call's parameters in effect: the step's own settings, else its template version's (docs/templates.md). */
  parameters: ModelParameters.omit({ model: true }).default({}),
  error: FailureInfo.nullable(),
  usage: TokenUsage,
  /** USD spent on the step's model calls (catalog prices). */
  cost: z.number().nonnegative().default(0),
  messages: z.array(ChatMessage).nullable(),
  score: z.number().nullable(),
  /** The executor replica whose result was applied. */
  executor: z.string().nullable(),
  dispatchedAt: z.string().nullable(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  /** The verification loop's rounds, oldest first (steps with gates). */
  iterations: z.array(IterationView).default([]),
  /** Rounds used, the best score among them, and why the loop stopped (null while it runs or without gates). */
  iterationsUsed: z.number().int().nonnegative().default(0),
  bestScore: z.number().nullable().default(null),
  stopReason: StopReason.nullable().default(null),
  /** A template step: the registry template it rendered and the version the run pinned. */
  template: z.object({ name: z.string(), version: z.number().int() }).nullable().default(null),
  /** A replay: the step was carried over from the source run (output, verdict and usage), not run again. */
  reused: z.boolean().default(false),
  /** A replay: the step's answer came from the source run's recording (no model or tool was called). */
  recorded: z.boolean().default(false),
});
export type StepView = z.infer<typeof StepView>;

export const ProductView = z.object({
  path: z.string(),
  contentType: z.string(),
  size: z.number().int().nonnegative(),
  /** Why the product could not be built (e.g. a csv product whose rows hold nested values); it then has no content. */
  error: z.string().optional(),
});
export type ProductView = z.infer<typeof ProductView>;

/** Spending limits of a project per UTC day (set by the admin; none by default). */
export const ProjectBudget = z.object({
  maxTokensPerDay: z.number().int().positive().optional(),
  /** USD, from the catalog's prices. */
  maxCostPerDay: z.number().positive().optional(),
});
export type ProjectBudget = z.infer<typeof ProjectBudget>;

/** What a project used today (UTC, from 00:00) and what is in flight. */
export const ProjectUsage = z.object({
  project: z.string(),
  day: z.string(),
  usage: TokenUsage,
  cost: z.number().nonnegative(),
  runs: z.object({ started: z.number().int().nonnegative(), running: z.number().int().nonnegative(), queued: z.number().int().nonnegative() }),
});
export type ProjectUsage = z.infer<typeof ProjectUsage>;

export const RunView = z.object({
  id: z.string(),
  project: z.string(),
  pipeline: z.string(),
  /** 0 for a run of an inline spec that was never registered. */
  pipelineVersion: z.number().int().nonnegative(),
  status: RunStatus,
  inputs: z.record(z.string(), z.unknown()),
  usage: TokenUsage,
  /** USD spent on the run's model calls (catalog prices). */
  cost: z.number().nonnegative().default(0),
  error: FailureInfo.nullable(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
  /** Who started the run: the API key's id (as in the audit trail); null for runs started before it was recorded. */
  actor: z.string().nullable().default(null),
  priority: RunPriority.default(DEFAULT_PRIORITY),
  /** When it left the queue and began (its creation, when it never waited); null while queued. */
  startedAt: z.string().nullable().default(null),
  /**
   * A queued run's place: `position` (1 = next) among the runs it waits behind, and an estimate
   * of the wait from recent runs of its pipeline (null without history). Null when not queued.
   */
  queue: z.object({ position: z.number().int().positive(), estimatedWaitMs: z.number().nonnegative().nullable() }).nullable().default(null),
  steps: z.array(StepView),
  /**
   * The template versions (and experiment variants) the run pinned at start: its template
   * steps', and the orchestration's own (personality, judge, feedback), by category.
   */
  templates: z
    .array(
      z.object({
        ref: z.string(),
        name: z.string(),
        category: TemplateCategory,
        version: z.number().int(),
        label: z.string().nullable(),
        level: z.string(),
        experiment: z.object({ id: z.string(), variant: z.string() }).nullable(),
      }),
    )
    .default([]),
  /** The strategy experiments the run is in, and the variant each gave it. */
  strategies: z.array(StrategyPin).default([]),
  /** Files the run produced, served by `GET /v1/runs/{id}/products/{path}`. */
  products: z.array(ProductView).default([]),
  /** A replay or fork: the run it replays, the step it was forked from, and how it answers calls. */
  source: RunSource.nullable().default(null),
  /** Whether the run's model and tool calls are recorded (its project's setting when it started): only a recorded run can be replayed from its answers. */
  recording: z.boolean().default(true),
});
export type RunView = z.infer<typeof RunView>;

export const RunSummary = RunView.omit({ steps: true, inputs: true, products: true, templates: true, strategies: true, source: true, recording: true });
export type RunSummary = z.infer<typeof RunSummary>;

const Project = { project: z.string() };
/**
 * What every new run (a start or a replay) is admitted and recorded by: its project's settings
 * (the gateway owns projects), its priority and who asked.
 */
const NewRunSettings = {
  /** The project's admission settings: runs beyond `maxRunning` running are queued. */
  maxRunning: z.number().int().positive().optional(),
  /** The project's share of busy executors against other projects' (fair dispatch); default 1. */
  weight: z.number().int().min(1).max(1000).optional(),
  /** The project's budgets per UTC day: a run is refused (resource_exhausted) once one is spent, and stops dispatching when spent mid-way. */
  budget: ProjectBudget.optional(),
  /** Record the run's model and tool calls (the project's setting; default on). */
  recording: z.boolean().optional(),
  priority: RunPriority.default(DEFAULT_PRIORITY),
  /** Who started it: the API key's id (the audit trail's actor). */
  actor: z.string().min(1).max(255).optional(),
};
const Page = { limit: z.number().int().min(1).max(200).default(50), before: z.string().optional() };

export const PlannerRpc = {
  ping: ping('planner'),
  registerPipeline: method(
    'planner',
    'pipelines.register',
    /** `feature`: whose override of the analysis prompt applies (the template hierarchy). */
    z.object({ ...Project, source: SpecSource, overrideAlignment: z.boolean().default(false), feature: FeatureName.optional() }),
    PipelineView,
  ),
  validatePipeline: method(
    'planner',
    'pipelines.validate',
    z.object({ ...Project, source: SpecSource, overrideAlignment: z.boolean().default(false), feature: FeatureName.optional() }),
    PlanView,
  ),
  listPipelines: method('planner', 'pipelines.list', z.object(Project), z.object({ items: z.array(PipelineSummary) })),
  /** Every version of one pipeline, newest first. */
  listPipelineVersions: method('planner', 'pipelines.versions', z.object({ ...Project, name: z.string() }), z.object({ items: z.array(PipelineSummary) })),
  /** The newest version, or the one asked for. */
  getPipeline: method('planner', 'pipelines.get', z.object({ ...Project, name: z.string(), version: z.number().int().positive().optional() }), PipelineView),
  /**
   * Makes a strategy experiment's variant the pipeline's default: registers, as its newest
   * version, the spec of the variant's version (`pipeline`) or the latest spec with the
   * variant's selection mode or iteration policy applied. Registering a spec equal to the
   * latest one adds nothing, so a repeated promotion is harmless.
   */
  promotePipeline: method('planner', 'pipelines.promote', z.object({ ...Project, name: z.string(), variant: StrategyVariant }), PipelineView),
  startRun: method(
    'planner',
    'runs.start',
    z.object({
      ...Project,
      pipeline: z.string().optional(),
      source: SpecSource.optional(),
      inputs: z.record(z.string(), z.unknown()).default({}),
      /** Who experiment assignment sticks to (a user or session); the run id by default. */
      subject: z.string().min(1).max(500).optional(),
      /** The feature type whose template overrides apply. */
      feature: z.string().min(1).max(100).optional(),
      ...NewRunSettings,
      /** Stream model answers as `step.progress` events. */
      stream: z.boolean().optional(),
      /** Start an inline spec the orchestrator model found misaligned (`check_alignment`). */
      overrideAlignment: z.boolean().optional(),
    }),
    RunView,
  ),
  /**
   * A new run from a finished one: every call answered from its recording, live, or both;
   * from a step on (the steps before it, and those no override touches, carried over); with
   * other inputs, template versions, models or spec. The source run never changes.
   */
  replayRun: method(
    'planner',
    'runs.replay',
    z.object({
      ...Project,
      runId: z.string(),
      mode: ReplayMode,
      from: z.string().optional(),
      overrides: ReplayOverrides.extend({ spec: SpecSource.optional() }).optional(),
      ...NewRunSettings,
    }),
    RunView,
  ),
  /** A finished run as a file: its spec, pinned templates, view and recording. */
  exportRun: method('planner', 'runs.export', z.object({ ...Project, runId: z.string() }), z.lazy(() => RunExport)),
  /** A run from an exported file, under a new id, finished as it was: a baseline to replay and diff against. */
  importRun: method(
    'planner',
    'runs.import',
    z.object({ ...Project, file: z.lazy(() => RunExport), actor: z.string().min(1).max(255).optional() }),
    RunView,
  ),
  getRun: method('planner', 'runs.get', z.object({ ...Project, runId: z.string() }), RunView),
  /** A project's usage today (UTC) against its budget, and its runs running and queued. */
  usage: method('planner', 'runs.usage', z.object({ ...Project }), ProjectUsage),
  /**
   * A project's admission settings changed (the admin API): the planner stores them and starts
   * the queued runs the new limit lets in. Answers the project's usage.
   */
  projectSettings: method(
    'planner',
    'projects.settings',
    z.object({ ...Project, maxRunning: z.number().int().min(1).max(100_000), weight: z.number().int().min(1).max(1000), budget: ProjectBudget }),
    ProjectUsage,
  ),
  /** Stops dispatch and aborts in-flight calls; a finished run answers failed_precondition. */
  cancelRun: method('planner', 'runs.cancel', z.object({ ...Project, runId: z.string() }), RunView),
  /** Re-runs failed, cancelled and skipped steps and what follows them, reusing completed outputs. */
  resumeRun: method('planner', 'runs.resume', z.object({ ...Project, runId: z.string() }), RunView),
  listRuns: method(
    'planner',
    'runs.list',
    z.object({
      ...Project,
      ...Page,
      status: RunStatus.optional(),
      pipeline: z.string().optional(),
      createdFrom: z.iso.datetime({ offset: true }).optional(),
      createdTo: z.iso.datetime({ offset: true }).optional(),
      /** A run id, or its first characters. */
      id: RunIdPrefix.optional(),
      /** Text one of the run's input values contains, case-insensitively. */
      input: z.string().min(1).max(200).optional(),
    }),
    z.object({ items: z.array(RunSummary), next: z.string().nullable() }),
  ),
} as const;

/** One template a run uses, as the registry answered at run start: the planner stores it on the run (its pin). */
export const ResolvedTemplate = z.object({
  /** The reference as asked, e.g. `market-analysis@production`. */
  ref: z.string(),
  name: z.string(),
  category: TemplateCategory,
  version: z.number().int().positive(),
  /** The label that chose the version (`production`, a custom one, `latest`), or null for a version pin or an experiment. */
  label: z.string().nullable(),
  level: TemplateLevel,
  body: TemplateBody,
  /** Variables the body reads, as `{{ inputs.<name> }}`; a step's `with:` must give them. */
  variables: z.array(z.string()),
  parameters: ModelParameters,
  /** Set when a running experiment chose the version. */
  experiment: z.object({ id: z.string(), variant: z.string() }).nullable(),
});
export type ResolvedTemplate = z.infer<typeof ResolvedTemplate>;

/** `name`, `name@<label>`, `name@<version>` or `name@latest`, split. */
export const TemplateRef = z.object({
  name: z.string().min(1).max(100),
  selector: z.string().min(1).max(64).optional(),
  /** Steps that render this reference: an experiment attributes their verifier scores. Without it, every step of the run counts. */
  steps: z.array(z.string()).max(500).optional(),
});
export type TemplateRef = z.infer<typeof TemplateRef>;

/**
 * Whether the caller presented the admin token (the gateway checks it; the registry trusts
 * this flag because only services reach NATS). Needed for protected labels and the global level.
 */
const Admin = { admin: z.boolean().default(false) };
const TemplatePlacement = { level: TemplateLevel.optional(), feature: FeatureName.optional() };

export const RegistryRpc = {
  ping: ping('registry'),
  /**
   * Everything a run needs in one request, at run start. Without a selector a running
   * experiment picks a variant for `subject` (default `runId`), else `production`, else the
   * newest version. With `runId` the registry records the experiment assignments, so that
   * results are attributed to the variant the run got; asking again for the same run answers
   * the same variant. Missing references are listed, not thrown.
   */
  resolveTemplates: method(
    'registry',
    'templates.resolve',
    z.object({
      ...Project,
      feature: FeatureName.optional(),
      subject: z.string().min(1).max(500).optional(),
      runId: RunId.optional(),
      refs: z.array(TemplateRef).max(500),
      /** A run of this registered pipeline: the strategy experiments running on it assign the run a variant each. */
      pipeline: z.string().min(1).max(100).optional(),
    }),
    z.object({
      /** In the order of `refs`, without the missing ones. */
      templates: z.array(ResolvedTemplate),
      /** References nothing answered, as `name` or `name@selector`. */
      missing: z.array(z.string()),
      /** The run's variant of each strategy experiment running on `pipeline`. */
      strategies: z.array(StrategyPin).default([]),
    }),
  ),
  createTemplate: method('registry', 'templates.create', CreateTemplateBody.extend({ ...Project, ...Admin }), CreatedTemplateVersion),
  listTemplates: method('registry', 'templates.list', z.object({ ...Project, category: TemplateCategory.optional() }), z.object({ items: z.array(TemplateSummary) })),
  getTemplate: method('registry', 'templates.get', z.object({ ...Project, name: z.string(), feature: FeatureName.optional() }), TemplateLookup),
  moveLabel: method(
    'registry',
    'templates.labels.move',
    z.object({ ...Project, ...Admin, ...TemplatePlacement, name: z.string(), label: LabelName, version: z.number().int().positive() }),
    LabelView,
  ),
  renderTemplate: method(
    'registry',
    'templates.render',
    z.object({ ...Project, name: z.string(), feature: FeatureName.optional(), selector: z.string().min(1).max(64).optional(), variables: z.record(z.string(), z.unknown()).default({}) }),
    RenderedTemplate,
  ),
  createExperiment: method('registry', 'experiments.create', z.object({ ...ExperimentFields, ...Project, ...Admin }).superRefine(checkExperimentFields), ExperimentView),
  getExperiment: method('registry', 'experiments.get', z.object({ ...Project, id: z.string() }), ExperimentView),
  listExperiments: method(
    'registry',
    'experiments.list',
    z.object({ ...Project, template: z.string().optional(), pipeline: z.string().optional(), status: ExperimentStatus.optional() }),
    z.object({ items: z.array(ExperimentSummary) }),
  ),
  updateExperiment: method('registry', 'experiments.update', z.object({ ...Project, ...Admin, id: z.string(), status: ExperimentStatus }), ExperimentView),
  /** Moves `production` to the named variant's version, or to the significant winner, and stops the experiment. */
  promoteExperiment: method('registry', 'experiments.promote', z.object({ ...Project, ...Admin, id: z.string(), variant: z.string().optional() }), ExperimentView),
} as const;

/**
 * A run as a file (`trellis runs export`): what a pipeline repository keeps as a baseline and
 * imports again (`trellis runs import`) to replay its changes against, at no token cost.
 */
export const RunExport = z.object({
  format: z.literal('trellis.run'),
  version: z.literal(1),
  exportedAt: z.string(),
  /** The pipeline spec the run ran (JSON, defaults applied). */
  spec: z.record(z.string(), z.unknown()),
  /** The registry templates the run pinned, with their bodies. */
  templates: z.array(ResolvedTemplate),
  run: RunView,
  /** Every recorded model and tool call, oldest first. */
  calls: z.array(RecordedCall),
});
export type RunExport = z.infer<typeof RunExport>;
