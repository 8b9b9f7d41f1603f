import { z } from 'zod';
import { nameSchema } from './names';
import { ChatMessage } from './common';
import { IteratePolicySpec, PipelineName, Selection } from './pipeline-spec';

/**
 * Templates and experiments of the registry (DESIGN §5, §6, docs/templates.md): the REST
 * bodies the gateway accepts and the views it answers with. Bodies are strict: an unknown
 * field is a 400 naming it.
 */

/** Template names appear in `template: name@label` references: no `@`, no spaces. */
export const TemplateName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, 'a template name is lower-case letters, digits, ".", "-" and "_", at most 100 characters');

export const TemplateCategory = z.enum(['prompt', 'personality', 'orchestration', 'judge']);
export type TemplateCategory = z.infer<typeof TemplateCategory>;

/** Where a template lives: every project sees `global`; `feature` overrides inside one project. */
export const TemplateLevel = z.enum(['global', 'project', 'feature']);
export type TemplateLevel = z.infer<typeof TemplateLevel>;

/** A feature type inside a project (e.g. `support-chat`), the most specific level. */
export const FeatureName = nameSchema('a feature is');

/** `latest` is implicit (the newest version) and a number would read as a version. */
export const LabelName = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,62}$/, 'a label is lower-case letters, digits, "-" and "_", starting with a letter')
  .refine((l) => l !== 'latest', '"latest" is implicit: it always means the newest version');

/** A variable a template reads as `{{ inputs.<name> }}`. */
export const VariableName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'a variable name is an identifier');

/** Plain text, or a chat template: messages whose contents are Liquid templates. */
export const TemplateBody = z.union([z.string().min(1).max(200_000), z.array(ChatMessage).min(1).max(100)]);
export type TemplateBody = z.infer<typeof TemplateBody>;

/** Model parameters stored with a version; the step's own settings win over them. */
export const ModelParameters = z.strictObject({
  model: z.string().min(1).max(200).optional(),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().min(0).max(1).optional(),
  max_tokens: z.number().int().positive().optional(),
  presence_penalty: z.number().min(-2).max(2).optional(),
  frequency_penalty: z.number().min(-2).max(2).optional(),
  stop: z.array(z.string().min(1)).max(4).optional(),
  seed: z.number().int().optional(),
});
export type ModelParameters = z.infer<typeof ModelParameters>;

/** Which template a request is about: `level` defaults to `feature` when a feature is given, else `project`. */
const Placement = {
  level: TemplateLevel.optional(),
  feature: FeatureName.optional(),
};

/** `POST /v1/templates`: a new version (and the template, the first time). */
export const CreateTemplateBody = z.strictObject({
  name: TemplateName,
  category: TemplateCategory.default('prompt'),
  ...Placement,
  body: TemplateBody,
  /** When given, the body must read exactly these variables. */
  variables: z.array(VariableName).max(200).optional(),
  parameters: ModelParameters.default({}),
  author: z.string().max(200).optional(),
  message: z.string().max(2_000).optional(),
});
export type CreateTemplateBody = z.infer<typeof CreateTemplateBody>;

/** `PUT /v1/templates/{name}/labels/{label}` */
export const MoveLabelBody = z.strictObject({ version: z.number().int().positive(), ...Placement });
export type MoveLabelBody = z.infer<typeof MoveLabelBody>;

/** `POST /v1/templates/{name}/render`: a preview; `selector` is a label, a version number or `latest`. */
export const RenderTemplateBody = z.strictObject({
  variables: z.record(z.string(), z.unknown()).default({}),
  selector: z.string().min(1).max(64).optional(),
  feature: FeatureName.optional(),
});
export type RenderTemplateBody = z.infer<typeof RenderTemplateBody>;

export const TemplateQuery = z.strictObject({
  /** Must be the key's own project when given (any other answers 404). */
  project: z.string().optional(),
  feature: FeatureName.optional(),
});

export const ListTemplatesQuery = z.strictObject({ category: TemplateCategory.optional() });

export const TemplateVersionView = z.object({
  version: z.number().int().positive(),
  body: TemplateBody,
  variables: z.array(z.string()),
  parameters: ModelParameters,
  author: z.string().nullable(),
  message: z.string().nullable(),
  createdAt: z.string(),
});
export type TemplateVersionView = z.infer<typeof TemplateVersionView>;

const TemplateIdentity = {
  name: z.string(),
  category: TemplateCategory,
  level: TemplateLevel,
  project: z.string().nullable(),
  feature: z.string().nullable(),
};

export const TemplateSummary = z.object({
  ...TemplateIdentity,
  latest: z.number().int().positive(),
  /** label → version */
  labels: z.record(z.string(), z.number().int().positive()),
  updatedAt: z.string(),
});
export type TemplateSummary = z.infer<typeof TemplateSummary>;

export const TemplateView = TemplateSummary.extend({
  /** Newest first. */
  versions: z.array(TemplateVersionView),
  /** The running experiment, if any: unpinned references get its variants. */
  experiment: z.object({ id: z.string(), status: z.string() }).nullable(),
});
export type TemplateView = z.infer<typeof TemplateView>;

/** `POST /v1/templates` answers with the version, and whether it was new. */
export const CreatedTemplateVersion = z.object({
  template: TemplateSummary,
  version: TemplateVersionView,
  /** False when the body, variables and parameters equal the newest version's: nothing was created. */
  created: z.boolean(),
});
export type CreatedTemplateVersion = z.infer<typeof CreatedTemplateVersion>;

/** One level the resolution looked at, most specific first. */
export const ResolutionCandidate = z.object({
  level: TemplateLevel,
  project: z.string().nullable(),
  feature: z.string().nullable(),
  found: z.boolean(),
  /** Why it answered, or why not. */
  note: z.string(),
});
export type ResolutionCandidate = z.infer<typeof ResolutionCandidate>;

/** `GET /v1/templates/{name}`: the level that answered, why, and what was considered. */
export const TemplateLookup = z.object({
  name: z.string(),
  project: z.string(),
  feature: z.string().nullable(),
  level: TemplateLevel,
  reason: z.string(),
  candidates: z.array(ResolutionCandidate),
  template: TemplateView,
});
export type TemplateLookup = z.infer<typeof TemplateLookup>;

export const LabelView = z.object({
  ...TemplateIdentity,
  label: z.string(),
  version: z.number().int().positive(),
  /** The version the label pointed at before this move; null when it is new. */
  previous: z.number().int().positive().nullable(),
});
export type LabelView = z.infer<typeof LabelView>;

export const RenderedTemplate = z.object({
  name: z.string(),
  version: z.number().int().positive(),
  level: TemplateLevel,
  label: z.string().nullable(),
  /** The rendered text, or the rendered messages of a chat template. */
  rendered: TemplateBody,
  parameters: ModelParameters,
});
export type RenderedTemplate = z.infer<typeof RenderedTemplate>;

// ---------------------------------------------------------------------------------------
// Experiments

export const ExperimentStatus = z.enum(['draft', 'running', 'stopped']);
export type ExperimentStatus = z.infer<typeof ExperimentStatus>;

export const VariantName = nameSchema('a variant name is');

/**
 * What an experiment varies: a template's version (`template`), or a pipeline's strategy —
 * which registered version runs (`pipeline`), the expert selection mode (`selection`), or the
 * iteration policy of its gated steps (`policy`).
 */
export const ExperimentKind = z.enum(['template', 'pipeline', 'selection', 'policy']);
export type ExperimentKind = z.infer<typeof ExperimentKind>;

/** A policy variant: the `iterate` fields it sets on every gated step of the run (at least one). */
export const PolicyVariant = IteratePolicySpec.refine((p) => Object.values(p).some((v) => v !== undefined), 'give at least one of max, improvement_threshold, accept_at, category_min');
export type PolicyVariant = z.infer<typeof PolicyVariant>;

/** One arm of an experiment: `version` (template or pipeline kinds), `selection` or `policy`, as the kind needs. */
export const ExperimentVariant = z.strictObject({
  name: VariantName,
  /** A template version (`template`) or a registered pipeline version (`pipeline`). */
  version: z.number().int().positive().optional(),
  selection: Selection.optional(),
  policy: PolicyVariant.optional(),
  /** Relative share of subjects; weights need not sum to anything in particular. */
  weight: z.number().positive().max(1_000_000).default(1),
});
export type ExperimentVariant = z.infer<typeof ExperimentVariant>;

/** The field each kind's variants set, and only that one. */
export const VARIANT_FIELD = { template: 'version', pipeline: 'version', selection: 'selection', policy: 'policy' } as const satisfies Record<ExperimentKind, keyof ExperimentVariant>;

/** The fields of a new experiment (the REST body and the RPC request share them). */
export const ExperimentFields = {
  kind: ExperimentKind.default('template'),
  /** The template whose versions compete (`template` kind). */
  template: TemplateName.optional(),
  /** The registered pipeline whose strategy varies (the other kinds). */
  pipeline: PipelineName.optional(),
  ...Placement,
  description: z.string().max(2_000).optional(),
  /** `running` starts assigning at once; `draft` waits for `POST /v1/experiments/{id}/start`. */
  status: ExperimentStatus.exclude(['stopped']).default('running'),
  variants: z.array(ExperimentVariant).min(2).max(10),
};

/** The rules across fields of a new experiment: its target and its variants fit its kind. */
export function checkExperimentFields(b: z.infer<z.ZodObject<typeof ExperimentFields>>, ctx: z.RefinementCtx): void {
  if (new Set(b.variants.map((v) => v.name)).size !== b.variants.length) ctx.addIssue({ code: 'custom', message: 'variant names must be unique', path: ['variants'] });
  const target = b.kind === 'template' ? 'template' : 'pipeline';
  if (b[target] === undefined) ctx.addIssue({ code: 'custom', message: `a ${b.kind} experiment names its ${target}`, path: [target] });
  const other = target === 'template' ? 'pipeline' : 'template';
  if (b[other] !== undefined) ctx.addIssue({ code: 'custom', message: `a ${b.kind} experiment has no ${other}`, path: [other] });
  if (b.kind !== 'template' && (b.level !== undefined || b.feature !== undefined)) {
    ctx.addIssue({ code: 'custom', message: 'a pipeline belongs to the project: a strategy experiment has no level or feature', path: [b.level !== undefined ? 'level' : 'feature'] });
  }
  const field = VARIANT_FIELD[b.kind];
  b.variants.forEach((v, i) => {
    for (const f of ['version', 'selection', 'policy'] as const) {
      if (f === field && v[f] === undefined) ctx.addIssue({ code: 'custom', message: `a ${b.kind} variant gives its ${f}`, path: ['variants', i, f] });
      if (f !== field && v[f] !== undefined) ctx.addIssue({ code: 'custom', message: `a ${b.kind} variant has no ${f}`, path: ['variants', i, f] });
    }
  });
}

/** `POST /v1/experiments` */
export const CreateExperimentBody = z.strictObject(ExperimentFields).superRefine(checkExperimentFields);
export type CreateExperimentBody = z.infer<typeof CreateExperimentBody>;

/** `POST /v1/experiments/{id}/promote`: without `variant`, the significant winner. */
export const PromoteExperimentBody = z.strictObject({ variant: VariantName.optional() });

export const ListExperimentsQuery = z.strictObject({ template: TemplateName.optional(), pipeline: PipelineName.optional(), status: ExperimentStatus.optional() });

/** A variant as an experiment shows it. */
export const VariantView = z.object({
  name: z.string(),
  version: z.number().int().positive().optional(),
  selection: Selection.optional(),
  policy: IteratePolicySpec.optional(),
  weight: z.number(),
});
export type VariantView = z.infer<typeof VariantView>;

export const VariantResults = VariantView.extend({
  /** Runs assigned to the variant. */
  runs: z.number().int().nonnegative(),
  runsCompleted: z.number().int().nonnegative(),
  runsSucceeded: z.number().int().nonnegative(),
  /** Steps rendering the template that the verifier judged (latest attempt per step). */
  stepsVerified: z.number().int().nonnegative(),
  stepsAccepted: z.number().int().nonnegative(),
  acceptanceRate: z.number().nullable(),
  meanScore: z.number().nullable(),
  scoreStdDev: z.number().nullable(),
  /** Mean attempts per verified step (1 = accepted or rejected at once). */
  meanIterations: z.number().nullable(),
  meanInputTokens: z.number().nullable(),
  meanOutputTokens: z.number().nullable(),
  /** Null until events carry a cost. */
  meanCost: z.number().nullable(),
  meanLatencyMs: z.number().nullable(),
});
export type VariantResults = z.infer<typeof VariantResults>;

/** A variant against the control (the first variant). */
export const VariantComparison = z.object({
  variant: z.string(),
  control: z.string(),
  acceptanceDiff: z.number().nullable(),
  /** Two-proportion z-test, two-sided. */
  acceptancePValue: z.number().nullable(),
  scoreDiff: z.number().nullable(),
  /** Welch's t-test on per-step scores, two-sided. */
  scorePValue: z.number().nullable(),
});
export type VariantComparison = z.infer<typeof VariantComparison>;

export const ExperimentView = z.object({
  id: z.string(),
  kind: ExperimentKind,
  /** The template (`template` kind), else null. */
  template: z.string().nullable(),
  /** The pipeline (strategy kinds), else null. */
  pipeline: z.string().nullable(),
  level: TemplateLevel,
  project: z.string().nullable(),
  feature: z.string().nullable(),
  description: z.string().nullable(),
  status: ExperimentStatus,
  variants: z.array(VariantView),
  results: z.array(VariantResults),
  comparisons: z.array(VariantComparison),
  /** The variant significantly best (p < 0.05 on acceptance, else on score) against every other; null if none is. */
  winner: z.string().nullable(),
  /**
   * What promotion made the default: the template version `production` now points at, or the
   * pipeline version registered for the winner (strategy kinds).
   */
  promoted: z.object({ variant: z.string(), version: z.number().int().positive(), at: z.string() }).nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  stoppedAt: z.string().nullable(),
});
export type ExperimentView = z.infer<typeof ExperimentView>;

export const ExperimentSummary = ExperimentView.omit({ results: true, comparisons: true, winner: true });
export type ExperimentSummary = z.infer<typeof ExperimentSummary>;
