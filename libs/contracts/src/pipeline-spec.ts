import { z } from 'zod';
import { PoolName } from './subjects';
import { ToolName } from './tools';

/**
 * Pipeline spec v1 (docs/pipeline-spec.md). Objects are strict: an unknown field is an
 * error naming it, never silently ignored.
 */

/** Step ids are CEL- and Liquid-safe identifiers: `steps.<id>.output` must parse everywhere. */
export const StepId = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,63}$/, 'a step id is lower-case letters, digits and "_", starting with a letter or "_"');

/** Pipeline names double as model ids on the OpenAI-compatible API. */
export const PipelineName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, 'a pipeline name is lower-case letters, digits, ".", "-" and "_"');

export const InputType = z.enum(['string', 'number', 'integer', 'boolean', 'object', 'array']);

export const InputSpec = z.strictObject({
  type: InputType.default('string'),
  required: z.boolean().default(false),
  default: z.unknown().optional(),
  description: z.string().optional(),
});
export type InputSpec = z.infer<typeof InputSpec>;

export const ModelName = z.string().min(1).max(200);

/** A registry template reference: `name`, `name@label`, `name@<version>` or `name@latest`. */
export const TemplateReference = z.string().regex(/^[a-z0-9][a-z0-9._/-]*(@[a-z0-9._-]+)?$/, 'name, name@label or name@version');

/** Which registry template a judge renders (category `judge`); default the seeded `trellis.judge`. */
export const JudgeSettings = z.strictObject({ template: TemplateReference });
export type JudgeSettings = z.infer<typeof JudgeSettings>;

/** A top-level property of a step's JSON output. */
export const OutputField = z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/, 'a top-level property name of the output schema');

/** A judge category: an identifier, so it reads well in CEL, telemetry and the judge's JSON schema. */
export const JudgeCategory = z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'a category is lower-case letters, digits and "_", starting with a letter');

/**
 * An LLM judge (DESIGN §10): the rubric, the categories and the candidate go to the judge
 * model with a JSON-schema `response_format`; it answers a score, a score per category,
 * violations and feedback. Any OpenAI-compatible model with structured outputs can judge.
 */
export const JudgeGateSpec = z.strictObject({
  /** What a good answer is; the judge scores against it. */
  rubric: z.string().min(1).max(20_000),
  /** Named aspects the judge scores separately (each 0..1); each must reach `category_min`. */
  categories: z.array(JudgeCategory).max(20).default([]),
  /** The judge model; default the pipeline's `defaults.verify.judge_model`, else the step's model. */
  model: ModelName.optional(),
  /** This gate's weight in the step's score (every other gate weighs 1). */
  weight: z.number().positive().max(100).default(1),
});
export type JudgeGateSpec = z.infer<typeof JudgeGateSpec>;

/**
 * A quality gate. Strings for the parameterless gates, otherwise an object with exactly one
 * key naming the kind (the compiler's error messages rely on that shape).
 */
export const Gate = z.union([
  z.literal('json').describe('the output parses as JSON'),
  z.literal('schema').describe("the output is JSON valid against the step's output.schema"),
  z.strictObject({ contains: z.string().min(1) }),
  z.strictObject({ not_contains: z.string().min(1) }),
  z.strictObject({ regex: z.string().min(1) }),
  z.strictObject({
    length: z
      .strictObject({
        min: z.number().int().nonnegative().optional(),
        max: z.number().int().positive().optional(),
        unit: z.enum(['chars', 'tokens']).default('chars'),
      })
      .refine((l) => l.min !== undefined || l.max !== undefined, 'give min, max or both'),
  }),
  z.strictObject({ judge: JudgeGateSpec }),
]);
export type Gate = z.infer<typeof Gate>;

/** Built-in values of the iteration policy, used where neither the step nor the pipeline sets one. */
export const VERIFY_DEFAULTS = Object.freeze({ max: 3, improvement_threshold: 0.05, accept_at: 0.8, category_min: 0.75, escalate: false });

/**
 * The iteration loop (generate → verify → feedback → repeat). Every field is optional: a
 * field a step leaves out comes from the pipeline's `defaults.verify.iterate`, then from
 * {@link VERIFY_DEFAULTS}.
 */
export const IterateSpec = z.strictObject({
  /** Rounds at most (escalation adds one). */
  max: z.number().int().min(1).max(10).optional(),
  /** A round that improves the score by less than this over the previous one ends the loop. */
  improvement_threshold: z.number().min(0).max(1).optional(),
  /** The combined score a candidate needs. */
  accept_at: z.number().min(0).max(1).optional(),
  /** The score every category needs. */
  category_min: z.number().min(0).max(1).optional(),
  /**
   * Top-level fields of the step's JSON output that later rounds keep from the candidate they
   * revise instead of writing them again (their response schema omits them; the step's output
   * is the merge). A kept field is written again when a violation or the judge's feedback names it.
   */
  reuse: z.array(OutputField).min(1).max(50).optional(),
});
export type IterateSpec = z.infer<typeof IterateSpec>;

/** The loop settings a pipeline can default (`defaults.verify.iterate`) or an experiment vary: every field but `reuse`, which is per step. */
export const IteratePolicySpec = IterateSpec.omit({ reuse: true });
export type IteratePolicySpec = z.infer<typeof IteratePolicySpec>;

/**
 * A step's quality gates and iteration policy. `accept_at` directly under `verify` is the
 * first spec's spelling of `iterate.accept_at`, still accepted.
 *
 * The parsed value is stable under re-parsing (stored specs are parsed again): `iterate`
 * holds exactly what the author set (with a top-level `accept_at` moved into it), and the
 * top-level `accept_at` becomes `iterate.accept_at ?? 0.8`.
 */
export const VerifySpec = z
  .strictObject({
    gates: z.array(Gate).min(1),
    accept_at: z.number().min(0).max(1).optional(),
    iterate: IterateSpec.optional(),
    /** When the loop ends without acceptance: one more round on the next stronger model. */
    escalate: z.boolean().optional(),
    /** The judge template of this step's judge gates (default: the pipeline's `defaults.verify.judge`, else `trellis.judge`). */
    judge: JudgeSettings.optional(),
  })
  .superRefine((v, ctx) => {
    if (v.iterate !== undefined && v.accept_at !== undefined && v.accept_at !== (v.iterate.accept_at ?? VERIFY_DEFAULTS.accept_at)) {
      ctx.addIssue({ code: 'custom', path: ['accept_at'], message: 'with `iterate`, give accept_at there (iterate.accept_at), not beside it' });
    }
  })
  .transform(({ accept_at, iterate, ...rest }) => {
    const folded = iterate === undefined && accept_at !== undefined ? { accept_at } : {};
    const policy = { ...iterate, ...folded };
    return { ...rest, accept_at: policy.accept_at ?? VERIFY_DEFAULTS.accept_at, iterate: policy };
  });
export type VerifySpec = z.infer<typeof VerifySpec>;

/**
 * Pipeline-wide defaults of the verification policy (`defaults.verify`), under each step's
 * own `verify` settings.
 */
export const VerifyDefaults = z.strictObject({
  iterate: IteratePolicySpec.optional(),
  escalate: z.boolean().optional(),
  /** The judge model of judge gates that name none. */
  judge_model: ModelName.optional(),
  /** The judge template of steps that name none. */
  judge: JudgeSettings.optional(),
});
export type VerifyDefaults = z.infer<typeof VerifyDefaults>;

/** `30s`, `500ms`, `2m`, `1h`, or a number of seconds. */
export const Duration = z.union([
  z.number().positive().describe('seconds'),
  z.string().regex(/^\d+(\.\d+)?(ms|s|m|h)$/, 'a duration such as "500ms", "30s", "2m" or "1h"'),
]);
export type Duration = z.infer<typeof Duration>;

/** Retry policy: `attempts` in all (1 = no retry), exponential backoff between them. */
export const RetrySpec = z.strictObject({
  attempts: z.number().int().min(1).max(20),
  backoff: z
    .strictObject({ initial: Duration.default('1s'), max: Duration.default('30s') })
    .default({ initial: '1s', max: '30s' }),
});
export type RetrySpec = z.infer<typeof RetrySpec>;

export const OutputSpec = z.strictObject({
  format: z.enum(['text', 'json', 'markdown', 'csv']).default('text'),
  /** JSON Schema of a JSON output; the answer is validated against it at run time. */
  schema: z.record(z.string(), z.unknown()).optional(),
  /** An example answer, shown to models that cannot take a JSON schema. */
  example: z.unknown().optional(),
});
export type OutputSpec = z.infer<typeof OutputSpec>;

export const Selection = z.enum(['cost', 'performance', 'balanced']);
export type Selection = z.infer<typeof Selection>;

export const Capability = z.enum(['structured_outputs', 'tools', 'vision']);
export type Capability = z.infer<typeof Capability>;

/**
 * A personality: a name (a planner's file `~/.trellis/personalities/<name>.md`, else the
 * registry's personality template of that name), `template:<reference>` (a registry
 * personality template, with a label or version if wanted), or inline system text.
 */
export const PersonalitySpec = z.union([
  z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'a personality name'),
  z.string().regex(/^template:[a-z0-9][a-z0-9._/-]*(@[a-z0-9._-]+)?$/, 'template:name, template:name@label or template:name@version'),
  z.strictObject({ system: z.string().min(1) }),
]);
export type PersonalitySpec = z.infer<typeof PersonalitySpec>;

export const StepSpec = z.strictObject({
  description: z.string().optional(),
  depends_on: z.array(StepId).default([]),
  /** A model step: the user message (Liquid). Exactly one of prompt, template and tool. */
  prompt: z.string().min(1).optional(),
  /** A registry template, `name`, `name@label` or `name@<version>`, rendered with `with`. */
  template: TemplateReference.optional(),
  /** A tool step: the tool's name; its arguments come from `with`. */
  tool: ToolName.optional(),
  /** Arguments of a tool, or variables of a template (string leaves are Liquid). */
  with: z.record(z.string(), z.unknown()).optional(),
  system: z.string().optional(),
  model: ModelName.optional(),
  /** A task kind of the pipeline's `experts`: the model is chosen from its candidates. */
  expert: z.string().optional(),
  selection: Selection.optional(),
  /** Capabilities the chosen model must have. */
  needs: z.array(Capability).optional(),
  personality: PersonalitySpec.optional(),
  pool: PoolName.optional(),
  temperature: z.number().min(0).max(2).optional(),
  max_tokens: z.number().int().positive().optional(),
  output: OutputSpec.optional(),
  retry: RetrySpec.optional(),
  timeout: Duration.optional(),
  /** CEL over `inputs` and `steps.<id>.output|score|status`; false skips the step. */
  condition: z.string().min(1).optional(),
  /** Step to run when the condition is false. */
  on_false: StepId.optional(),
  /** Step to run when this step succeeds. */
  on_success: StepId.optional(),
  /** Step to run when this step fails; the failure is then handled and the run goes on. */
  on_failure: StepId.optional(),
  verify: VerifySpec.optional(),
});
export type StepSpec = z.infer<typeof StepSpec>;

/** A file built from step outputs; `from` is a Liquid template or a `steps.<id>.output` reference. */
export const ProductSpec = z.strictObject({
  path: z.string().min(1).max(300),
  from: z.string().min(1),
  format: z.enum(['text', 'json', 'csv', 'markdown']).optional(),
});
export type ProductSpec = z.infer<typeof ProductSpec>;

export const DefaultsSpec = z.strictObject({
  retry: RetrySpec.optional(),
  timeout: Duration.optional(),
  selection: Selection.optional(),
  /** The verification policy of every step with gates, under the step's own settings. */
  verify: VerifyDefaults.optional(),
});

export const PipelineSpec = z.strictObject({
  version: z.literal(1),
  name: PipelineName,
  description: z.string().optional(),
  model: ModelName.optional().describe('default model for steps that name none'),
  /** How steps with an `expert` choose among its candidates (overridable per step). */
  selection: Selection.default('balanced'),
  /** The system message of every model step unless the step names another; `standard` by default. */
  personality: PersonalitySpec.default('standard'),
  /** Task kind → candidate models, best first. */
  experts: z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/, 'a task kind'), z.array(ModelName).min(1)).default({}),
  /** Retry and timeout of every step that sets none. */
  defaults: DefaultsSpec.default({}),
  /**
   * The pipeline's orchestrator model: at registration it writes the pipeline's intention and
   * architecture; with `check_alignment` a pipeline whose architecture does not serve its
   * intention is refused on registration, validation and an inline run (unless the request
   * overrides the check).
   */
  orchestrator: z
    .strictObject({
      model: ModelName,
      check_alignment: z.boolean().default(false),
      /** The analysis prompt (category `orchestration`); default the seeded `trellis.analysis`. */
      template: TemplateReference.optional(),
    })
    .optional(),
  /**
   * At most `max` runs of this pipeline running at once in a project, or, with `key` (a CEL
   * expression over `inputs`, evaluated when a run is submitted), at most `max` per value of
   * the key — `key: "inputs.customer_id"` allows `max` runs per customer. Runs beyond it are
   * queued, never refused, and start as others finish.
   */
  concurrency: z.strictObject({ max: z.number().int().min(1).max(100_000), key: z.string().min(1).max(500).optional() }).optional(),
  products: z.array(ProductSpec).default([]),
  inputs: z.record(z.string().regex(/^[a-z_][a-z0-9_]*$/i, 'an input name is an identifier'), InputSpec).default({}),
  steps: z
    .record(StepId, StepSpec)
    .refine((steps) => Object.keys(steps).length > 0, 'a pipeline needs at least one step'),
});
export type PipelineSpec = z.infer<typeof PipelineSpec>;
