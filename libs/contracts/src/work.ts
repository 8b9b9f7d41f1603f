import { z } from 'zod';
import { defineEvent } from './cloudevent';
import { ChatMessage, RunId, RunStatus, StepStatus, TokenUsage } from './common';
import { Gate, OutputField, StepId } from './pipeline-spec';
import { ModelCallParams, ReplayJob } from './replay';
import { ModelParameters, TemplateBody } from './templates';

export const OutputFormat = z.enum(['text', 'json', 'markdown', 'csv']);
export type OutputFormat = z.infer<typeof OutputFormat>;

/** A step's output contract as the executor receives it (compiled from the spec's `output`). */
export const StepOutputSpec = z.object({
  format: OutputFormat,
  schema: z.record(z.string(), z.unknown()).optional(),
  example: z.unknown().optional(),
});
export type StepOutputSpec = z.infer<typeof StepOutputSpec>;

/** Retry policy of a step: attempts in all (1 = no retry), exponential backoff from initialMs to maxMs. */
export const RetryPolicy = z.object({
  attempts: z.number().int().min(1).max(20),
  initialMs: z.number().int().min(0).default(1000),
  maxMs: z.number().int().min(0).default(30_000),
});
export type RetryPolicy = z.infer<typeof RetryPolicy>;

/**
 * What an executor needs to run one attempt of a step, self-contained: executors hold no run
 * state and read no database. `context` is the Liquid scope (`inputs`, `steps.<id>.output`).
 */
const StepJob = z.object({
    runId: RunId,
    project: z.string(),
    stepId: StepId,
    attempt: z.number().int().positive(),
    pool: z.string(),
    model: z.string(),
    system: z.string().optional(),
    /** A model step's user message (a Liquid template); absent on a tool step. */
    prompt: z.string().optional(),
    /**
     * A template step: the registry version pinned for the run. Its `with` values (string
     * leaves are Liquid over the step's context) become the template's `inputs`.
     */
    template: z
      .object({ name: z.string(), version: z.number().int().positive(), body: z.union([z.string(), z.array(ChatMessage)]), with: z.record(z.string(), z.unknown()).default({}) })
      .optional(),
    /** A tool step: the tool's name and its arguments (string leaves are Liquid templates). */
    tool: z.object({ name: z.string(), with: z.record(z.string(), z.unknown()).default({}) }).optional(),
    /** The answer's expected shape: JSON is asked for with the provider's structured-output mode unless the catalog says the model lacks it, and validated. */
    output: StepOutputSpec.optional(),
    /** How often a retryable failure of this step is tried, and how long to wait between tries. */
    retry: RetryPolicy.optional(),
    /** Longest time one try may take. */
    timeoutMs: z.number().int().positive().optional(),
    context: z.object({
      inputs: z.record(z.string(), z.unknown()),
      steps: z.record(z.string(), z.object({ output: z.unknown() })),
    }),
    /**
     * The call's sampling parameters: the step's own settings, else its template version's
     * `parameters` (docs/templates.md, "Parameters"); absent ones are the provider's defaults.
     */
    params: ModelCallParams.default({}),
    /** The round of the step's verification loop (1 = first generation). */
    iteration: z.number().int().positive().optional(),
    /** Rounds after the first: what the verifier asked to fix; appended to the conversation as a user message. */
    feedback: z.string().optional(),
    /** Rounds after the first: the candidate to revise (the best so far), sent as the assistant's previous answer. */
    previousOutput: z.string().optional(),
    /** The run asked for streaming: the model call is streamed and its text published as `step.progress`. */
    stream: z.boolean().optional(),
    /** A replayed run: the source's recorded answers for this step and round, used when the request matches (docs/replay.md). */
    replay: ReplayJob.optional(),
  });

export const StepReady = defineEvent(
  'step',
  'ready',
  StepJob.extend({
    /**
     * Continuations (ADR 0013): the jobs of the steps this one's success makes ready and
     * nothing else can stop (its only dependency, no condition, not routed), built by the
     * planner without this step's output. The executor adds the output to each and publishes
     * them the moment it has the answer, before the result, so the next step does not wait
     * for the planner's commit; the planner then records them dispatched without publishing
     * them again (`StepGenerated.continued`).
     */
    then: z.array(StepJob).optional(),
  }),
);
export type StepReady = z.infer<typeof StepReady.data>;

/**
 * The iteration policy of one step, resolved (step, then pipeline defaults, then built-ins):
 * what the verifier applies to decide accept / retry / escalate / reject.
 */
export const VerifyPolicy = z.object({
  /** Rounds at most before escalation. */
  maxIterations: z.number().int().min(1).max(10),
  /** A round that improves the score by less than this over the previous one ends the loop. */
  improvementThreshold: z.number().min(0).max(1),
  acceptAt: z.number().min(0).max(1),
  categoryMin: z.number().min(0).max(1),
  /** One more round on a stronger model when the loop ends without acceptance. */
  escalate: z.boolean(),
});
export type VerifyPolicy = z.infer<typeof VerifyPolicy>;

/** An orchestration template pinned for a run (judge, feedback), carried whole in the job so that the verifier asks no registry. */
export const PinnedTemplate = z.object({
  name: z.string(),
  version: z.number().int().positive(),
  body: TemplateBody,
  parameters: ModelParameters.default({}),
});
export type PinnedTemplate = z.infer<typeof PinnedTemplate>;

/** One earlier round of a step's loop, as the verifier needs it to decide the next. */
export const VerifyRound = z.object({
  iteration: z.number().int().positive(),
  attempt: z.number().int().positive(),
  score: z.number().min(0).max(1),
  /** Whether the round had a critical violation (such a candidate ranks below any without). */
  critical: z.boolean().optional(),
  model: z.string().optional(),
  /** The round ran on the escalated model. */
  escalated: z.boolean().optional(),
});
export type VerifyRound = z.infer<typeof VerifyRound>;

/**
 * A verification job: the planner asks the verifier to judge one generated candidate. The
 * job carries the loop's history, so the verifier stays stateless (ADR 0003).
 */
export const VerifyRequested = defineEvent(
  'step',
  'verify_requested',
  z.object({
    runId: RunId,
    project: z.string(),
    stepId: StepId,
    attempt: z.number().int().positive(),
    output: z.string(),
    messages: z.array(ChatMessage),
    gates: z.array(Gate),
    /** The round of the iteration loop this candidate is (1 = first generation). */
    iteration: z.number().int().positive(),
    policy: VerifyPolicy,
    /** The earlier rounds of this loop, oldest first. */
    history: z.array(VerifyRound),
    /** The model that wrote the candidate. */
    model: z.string().optional(),
    /** JSON Schema of the step's output, for the `schema` gate. */
    outputSchema: z.record(z.string(), z.unknown()).optional(),
    /** The judge model for judge gates that name none (the pipeline's default, else the judge template's); absent: the verifier's VERIFIER_JUDGE_MODEL, else `model`. */
    judgeModel: z.string().optional(),
    /** This candidate came from the escalation round. */
    escalated: z.boolean().optional(),
    /** The next stronger model, when escalation is on and still possible; absent: no escalation. */
    escalateTo: z.string().optional(),
    /** A replayed run: the source's recorded judge answers for this step and round, used when a judge's request matches (docs/replay.md). */
    replay: ReplayJob.optional(),
    /** The judge prompt the run pinned (category `judge`); absent: the built-in `trellis.judge` version 1. Its parameters apply to the judge's request. */
    judgeTemplate: PinnedTemplate.optional(),
    /** The feedback prompt the run pinned (category `orchestration`). */
    feedbackTemplate: PinnedTemplate,
    /** The step's `iterate.reuse`: output fields the next round keeps unless a violation or the feedback names them. */
    reuse: z.array(OutputField).optional(),
  }),
);
export type VerifyRequested = z.infer<typeof VerifyRequested.data>;

/**
 * The planner to itself: every step of a run with products is done. Writing the files takes
 * object-store round trips, which stay out of the transaction that locks the run: this job
 * writes them, then the run succeeds with them listed (or fails, naming the product).
 */
export const ProductsRequested = defineEvent('run', 'products_requested', z.object({ runId: RunId }));
export type ProductsRequested = z.infer<typeof ProductsRequested.data>;

/**
 * What a change of a run in an experiment tells the template registry, which attributes it to
 * the run's variants: verdicts, steps that ended, and the run's end. Only runs that pinned an
 * experiment variant have any, so the registry receives nothing about the others.
 */
export const ExperimentOutcome = defineEvent(
  'experiment',
  'outcome',
  z.object({
    runId: RunId,
    /** Verdicts (`verdict`, `score`) and final statuses of steps, in the order they happened. */
    steps: z.array(
      z.object({
        stepId: StepId,
        attempt: z.number().int().nonnegative(),
        verdict: z.enum(['accept', 'retry', 'escalate', 'reject']).optional(),
        score: z.number().min(0).max(1).optional(),
        status: StepStatus.optional(),
      }),
    ),
    /** Set when the run ended with this change. */
    run: z.object({ status: RunStatus, usage: TokenUsage, cost: z.number().nonnegative(), durationMs: z.number().nonnegative() }).optional(),
  }),
);
export type ExperimentOutcome = z.infer<typeof ExperimentOutcome.data>;

/**
 * The planner to itself: a slot of this project may have freed (a run ended). The handler
 * starts the project's queued runs that fit now, by priority, then in order of submission.
 */
export const AdmissionRequested = defineEvent('run', 'admission_requested', z.object({ project: z.string() }));
export type AdmissionRequested = z.infer<typeof AdmissionRequested.data>;
