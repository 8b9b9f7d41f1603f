import { z } from 'zod';
import { defineEvent, type EventContract } from './cloudevent';
import { ChatMessage, FailureInfo, RunStatus, TokenUsage, RunId } from './common';
import { StepId } from './pipeline-spec';
import { GeneratedRequest, JudgeCall, RunSource } from './replay';
import { AdmissionRequested, ExperimentOutcome, ProductsRequested, StepReady, VerifyRequested } from './work';

/**
 * The public event contracts (DESIGN §4). Add fields; never change or remove one within v1.
 * Subject: `trellis.<ns>.events.<entity>.<change>.<runId>`.
 */

const StepRef = { runId: RunId, stepId: StepId, attempt: z.number().int().positive() };

export const RunStarted = defineEvent(
  'run',
  'started',
  z.object({
    runId: RunId,
    project: z.string(),
    pipeline: z.string(),
    /** 0 for a run of an inline spec that was never registered. */
    pipelineVersion: z.number().int().nonnegative(),
    inputs: z.record(z.string(), z.unknown()),
    steps: z.array(StepId),
    /** A replay or fork: the run it replays, the step it was forked from, and how it answers calls. */
    source: RunSource.optional(),
    /** 1 (lowest) to 5; 3 unless the request said otherwise. */
    priority: z.number().int().min(1).max(5).optional(),
    /** How long it waited in the queue, when it did. */
    queuedMs: z.number().nonnegative().optional(),
  }),
);

/**
 * A run was accepted but waits (admission): its project, or its pipeline's concurrency key, has
 * as many runs running as it may. It starts (`run.started`) when a slot frees, by priority, then
 * in order of submission. `position` counts from 1 within what it waits for; the estimate, from
 * recent runs of the pipeline, is null without history.
 */
export const RunQueued = defineEvent(
  'run',
  'queued',
  z.object({
    runId: RunId,
    project: z.string(),
    pipeline: z.string(),
    priority: z.number().int().min(1).max(5),
    position: z.number().int().positive(),
    estimatedWaitMs: z.number().nonnegative().nullable(),
  }),
);

/** The planner sent a step attempt to an executor pool. */
export const StepDispatched = defineEvent(
  'step',
  'dispatched',
  z.object({ ...StepRef, model: z.string(), pool: z.string() }),
);

/**
 * Throttled progress of a step being written: tokens so far and the text since the last progress
 * event. Only a step still being written one progress interval after its model call began has any.
 */
export const StepProgress = defineEvent(
  'step',
  'progress',
  z.object({ ...StepRef, outputTokens: z.number().int().nonnegative(), delta: z.string() }),
);

/**
 * How a JSON step asked the model for its shape. `response_format`: the provider's
 * structured-output mode (`json_schema` for a step with a schema, `strict` when the schema
 * meets OpenAI's strict rules; `json_object` without one). `instructions`: the schema and
 * example in the prompt, because the model catalog lists the model without
 * `structured_outputs` (`catalog`), the provider rejected `response_format` on this call
 * (`rejected`) or earlier in the executor's life (`remembered`), or the step has no schema and
 * its example is not a JSON object, which JSON mode cannot give (`not_an_object`). Either way
 * the answer was validated against the schema.
 */
export const StructuredOutputRequest = z.object({
  mode: z.enum(['response_format', 'instructions']),
  /** response_format: the type sent. */
  type: z.enum(['json_schema', 'json_object']).optional(),
  /** json_schema: whether strict mode was asked for. */
  strict: z.boolean().optional(),
  /** instructions: why. */
  reason: z.enum(['catalog', 'rejected', 'remembered', 'not_an_object']).optional(),
  /** rejected, remembered: the provider's answer to `response_format`. */
  message: z.string().optional(),
});
export type StructuredOutputRequest = z.infer<typeof StructuredOutputRequest>;

export const StepGenerated = defineEvent(
  'step',
  'generated',
  z.object({
    ...StepRef,
    output: z.string(),
    /** The parsed value of a JSON output, validated against the step's schema. */
    structured: z.unknown().optional(),
    /** A JSON step: how the shape was asked for (absent on other steps and from older executors). */
    structuredOutput: StructuredOutputRequest.optional(),
    model: z.string(),
    messages: z.array(ChatMessage),
    usage: TokenUsage,
    /** USD for this attempt, from the model catalog's prices; absent when the model has none. */
    cost: z.number().nonnegative().optional(),
    finishReason: z.string().nullable(),
    startedAt: z.string(),
    finishedAt: z.string(),
    executor: z.string(),
    /** The call that got the answer, beyond `messages`: the model, parameters and response_format asked for, or a tool's arguments (the run's recording; absent from older executors). */
    request: GeneratedRequest.optional(),
    /** The answer came from the source run's recording: no model or tool was called. */
    replayed: z.boolean().optional(),
    /** Continuations (`StepReady.then`) the executor published, before this result, for the steps named. */
    continued: z.array(StepId).optional(),
  }),
);

export const StepFailed = defineEvent(
  'step',
  'failed',
  z.object({ ...StepRef, error: FailureInfo, executor: z.string().optional() }),
);

export const Violation = z.object({
  rule: z.string(),
  severity: z.enum(['critical', 'major', 'minor']),
  message: z.string(),
});
export type Violation = z.infer<typeof Violation>;

export const Verdict = z.enum(['accept', 'retry', 'escalate', 'reject']);

/**
 * Why a step's iteration loop ended: `accepted`; `stagnated` (a round improved the score by
 * less than the policy's threshold); `max_iterations`; `escalation_failed` (the escalation
 * round was not accepted either).
 */
export const StopReason = z.enum(['accepted', 'stagnated', 'max_iterations', 'escalation_failed']);
export type StopReason = z.infer<typeof StopReason>;

/** One gate's result on one candidate. */
export const GateOutcome = z.object({
  /** The gate's kind: `json`, `schema`, `contains`, `not_contains`, `regex`, `length`, `judge`. */
  gate: z.string(),
  score: z.number().min(0).max(1),
  weight: z.number().positive(),
  categories: z.record(z.string(), z.number().min(0).max(1)).default({}),
  violations: z.array(Violation).default([]),
  /** A judge gate: the model that judged, its feedback and its tokens. */
  model: z.string().optional(),
  feedback: z.string().optional(),
  usage: TokenUsage.optional(),
});
export type GateOutcome = z.infer<typeof GateOutcome>;

/** A candidate of an earlier (or this) round, identified by its attempt. */
export const CandidateRef = z.object({
  iteration: z.number().int().positive(),
  attempt: z.number().int().positive(),
  score: z.number().min(0).max(1),
});
export type CandidateRef = z.infer<typeof CandidateRef>;

export const StepVerified = defineEvent(
  'step',
  'verified',
  z.object({
    ...StepRef,
    verdict: Verdict,
    score: z.number().min(0).max(1),
    categories: z.record(z.string(), z.number().min(0).max(1)).default({}),
    violations: z.array(Violation).default([]),
    /** retry / escalate: what the next round must fix, for its prompt. */
    feedback: z.string().optional(),
    /** The loop's round this verdict is about. */
    iteration: z.number().int().positive().optional(),
    /** Set when the loop ended (every verdict but retry). */
    stop: StopReason.optional(),
    /** Why, in words: the blocking reasons, or what ended the loop. */
    reason: z.string().optional(),
    /** The best candidate so far, this one included: the step's output when the loop ends without acceptance, and what the next round revises. */
    best: CandidateRef.optional(),
    /** The next round revises an earlier candidate (`best`) rather than this one, which did not improve on it. */
    reviseBest: z.boolean().optional(),
    /** escalate: the model of the escalation round. */
    escalateTo: z.string().optional(),
    /** retry / escalate on a step with `iterate.reuse`: the fields the next round keeps (none a violation or the feedback named). */
    reusedFields: z.array(z.string()).optional(),
    /** Each gate's result. */
    gates: z.array(GateOutcome).optional(),
    /** Tokens the judge gates used. */
    judgeUsage: TokenUsage.optional(),
    /** Time the verification took, ms. */
    durationMs: z.number().nonnegative().optional(),
    /** The judges' calls, exact request and answer (the run's recording). */
    calls: z.array(JudgeCall).optional(),
  }),
);

/** The planner's record that a step reached a final status. */
export const StepCompleted = defineEvent(
  'step',
  'completed',
  z.object({
    runId: RunId,
    stepId: StepId,
    status: z.enum(['succeeded', 'failed', 'skipped', 'cancelled']),
    attempt: z.number().int().nonnegative(),
    output: z.string().optional(),
    error: FailureInfo.optional(),
    /** Carried over from the source run of a replay: the step did not run again. */
    reused: z.boolean().optional(),
  }),
);

/** A failed or cancelled run goes on: its failed, cancelled and skipped steps run again. */
export const RunResumed = defineEvent(
  'run',
  'resumed',
  z.object({ runId: RunId, steps: z.array(StepId) }),
);

export const RunCompleted = defineEvent(
  'run',
  'completed',
  z.object({
    runId: RunId,
    status: RunStatus,
    usage: TokenUsage,
    /** USD, from the model catalog's prices (0 when no model of the run is in the catalog). */
    cost: z.number().nonnegative().optional(),
    durationMs: z.number().nonnegative(),
    error: FailureInfo.optional(),
  }),
);

/** Every contract that travels on the events stream or a work queue, by CloudEvents type. */
export const EVENT_CONTRACTS: readonly EventContract[] = [
  RunQueued,
  RunStarted,
  RunResumed,
  StepReady,
  ProductsRequested,
  AdmissionRequested,
  ExperimentOutcome,
  StepDispatched,
  StepProgress,
  VerifyRequested,
  StepGenerated,
  StepFailed,
  StepVerified,
  StepCompleted,
  RunCompleted,
];

export type RunStarted = z.infer<typeof RunStarted.data>;
export type RunQueued = z.infer<typeof RunQueued.data>;
export type StepDispatched = z.infer<typeof StepDispatched.data>;
export type StepProgress = z.infer<typeof StepProgress.data>;
export type StepGenerated = z.infer<typeof StepGenerated.data>;
export type StepFailed = z.infer<typeof StepFailed.data>;
export type StepVerified = z.infer<typeof StepVerified.data>;
export type StepCompleted = z.infer<typeof StepCompleted.data>;
export type RunCompleted = z.infer<typeof RunCompleted.data>;
export type RunResumed = z.infer<typeof RunResumed.data>;
