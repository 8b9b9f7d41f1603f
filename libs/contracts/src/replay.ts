import { z } from 'zod';
import { ChatMessage, RunId, StepStatus, TokenUsage } from './common';
import { StepId } from './pipeline-spec';

/**
 * Recordings, replays and diffs of runs (docs/replay.md). Every model and tool call a run
 * makes is recorded with its exact request and its answer; a replay answers its calls from
 * the source run's recording, calls the models again, or both.
 */

/**
 * How a replay answers its calls: `recorded` from the source's recording only (a request that
 * does not match fails its step with `replay_miss`), `live` by calling everything again,
 * `recorded_else_live` from the recording where the request matches and live where it does not.
 */
export const ReplayMode = z.enum(['recorded', 'live', 'recorded_else_live']);
export type ReplayMode = z.infer<typeof ReplayMode>;

/** The sampling parameters of a model call, as sent (absent ones are the provider's defaults). */
export const ModelCallParams = z.object({
  temperature: z.number().optional(),
  maxTokens: z.number().int().optional(),
  topP: z.number().optional(),
  presencePenalty: z.number().optional(),
  frequencyPenalty: z.number().optional(),
  stop: z.array(z.string()).optional(),
  seed: z.number().int().optional(),
});
export type ModelCallParams = z.infer<typeof ModelCallParams>;

/** A model call exactly as sent to the provider: what a recorded answer is matched against. */
export const ModelCallRequest = z.object({
  kind: z.literal('model'),
  /** The model asked for (the answer names the one that answered). */
  model: z.string(),
  messages: z.array(ChatMessage),
  params: ModelCallParams,
  /** The provider's structured-output mode, when it was asked for (`{ type: json_schema, … }` or `{ type: json_object }`). */
  responseFormat: z.record(z.string(), z.unknown()).optional(),
});
export type ModelCallRequest = z.infer<typeof ModelCallRequest>;

/** A tool call: the tool and its arguments, rendered and validated. */
export const ToolCallRequest = z.object({ kind: z.literal('tool'), tool: z.string(), arguments: z.unknown() });

export const CallRequest = z.discriminatedUnion('kind', [ModelCallRequest, ToolCallRequest]);
export type CallRequest = z.infer<typeof CallRequest>;

/** What `step.generated` says of the call beyond its `messages` (which it carries already). */
export const GeneratedRequest = z.discriminatedUnion('kind', [ModelCallRequest.omit({ messages: true }), ToolCallRequest]);
export type GeneratedRequest = z.infer<typeof GeneratedRequest>;

/** A call's answer: the model's text (a tool's result as text), its parsed JSON, who answered, tokens, why it stopped. */
export const CallAnswer = z.object({
  output: z.string(),
  structured: z.unknown().optional(),
  /** The model that answered (`-` for a tool). */
  model: z.string(),
  usage: TokenUsage,
  finishReason: z.string().nullable(),
});
export type CallAnswer = z.infer<typeof CallAnswer>;

/** Which call of a step attempt: `generate`, the step's own (its model or tool); `judge.<i>`, the judge of its i-th gate. */
export const CallName = z.string().regex(/^(generate|judge\.\d+)$/, '`generate` or `judge.<gate index>`');

/** One call of a run, recorded: which step, attempt and round of its verification loop made it, the request and the answer. */
export const RecordedCall = z.object({
  stepId: StepId,
  attempt: z.number().int().positive(),
  /** The verification loop's round (1 for a step without gates). */
  iteration: z.number().int().positive(),
  call: CallName,
  request: CallRequest,
  answer: CallAnswer,
  /** When the answer arrived (ISO 8601). */
  at: z.string(),
});
export type RecordedCall = z.infer<typeof RecordedCall>;

/**
 * A judge's call as the verifier reports it in `step.verified`: which gate's, the exact request
 * and the answer; `replayed` when the answer came from the source run's recording (nothing was called).
 */
export const JudgeCall = z.object({ call: CallName, request: ModelCallRequest, answer: CallAnswer, replayed: z.boolean().optional() });
export type JudgeCall = z.infer<typeof JudgeCall>;

/** A recorded answer as a replayed job carries it: the request, its hash, and the answer. */
export const ReplayCall = z.object({ hash: z.string(), request: CallRequest, answer: CallAnswer });
export type ReplayCall = z.infer<typeof ReplayCall>;

/**
 * The part of a step job (or a verification job, for its judges) that makes it a replay: the
 * source's answers for this step and round (oldest first), and what to do when a request
 * matches none of them.
 */
export const ReplayJob = z.object({
  mode: z.enum(['recorded', 'recorded_else_live']),
  calls: z.array(ReplayCall),
});
export type ReplayJob = z.infer<typeof ReplayJob>;

/** Where a replayed run comes from: the source run, the step it was forked from (null: the whole run), and how it answers calls. */
export const RunSource = z.object({ run: RunId, from: StepId.nullable(), mode: ReplayMode });
export type RunSource = z.infer<typeof RunSource>;

/** What a replay changes: inputs (merged over the source's), template selectors by name, models by step. */
export const ReplayOverrides = z.strictObject({
  inputs: z.record(z.string(), z.unknown()).optional(),
  /** Template name → selector (`production`, a label, a version number, `latest`): the steps that render it run again on that version. */
  templates: z.record(z.string().min(1).max(100), z.string().min(1).max(64)).optional(),
  /** Step id → model. */
  models: z.record(z.string().min(1).max(64), z.string().min(1).max(200)).optional(),
});
export type ReplayOverrides = z.infer<typeof ReplayOverrides>;

/** A text compared: equal, or a unified diff (`---`/`+++`/`@@` hunks) from the first to the second. */
export const TextDiff = z.object({ equal: z.boolean(), patch: z.string() });
export type TextDiff = z.infer<typeof TextDiff>;

/** One difference between two JSON values, at a path (object keys and array indices). */
export const JsonChange = z.object({
  path: z.array(z.union([z.string(), z.number()])),
  type: z.enum(['added', 'removed', 'changed']),
  before: z.unknown().optional(),
  after: z.unknown().optional(),
});
export type JsonChange = z.infer<typeof JsonChange>;

const pair = <T extends z.ZodType>(t: T) => z.object({ a: t, b: t });

/** What of a step can differ between two runs; `changed` lists those that do. */
export const StepDifference = z.enum(['status', 'prompt', 'output', 'model', 'template', 'score', 'iterations']);
export type StepDifference = z.infer<typeof StepDifference>;

/** One step of two runs, side by side (`a` the first run, `b` the second; null where the run has no such step). */
export const StepDiff = z.object({
  id: z.string(),
  /** `added`: only in b; `removed`: only in a. */
  change: z.enum(['identical', 'changed', 'added', 'removed']),
  changed: z.array(StepDifference),
  status: pair(StepStatus.nullable()),
  model: pair(z.string().nullable()),
  /** The registry template the step rendered, and its version. */
  template: pair(z.object({ name: z.string(), version: z.number().int() }).nullable()),
  score: pair(z.number().nullable()),
  iterations: pair(z.number().int().nonnegative()),
  usage: pair(TokenUsage.nullable()),
  cost: pair(z.number().nonnegative()),
  /** Dispatch to end, ms. */
  durationMs: pair(z.number().nonnegative().nullable()),
  /** Carried over from the source run without running (`reused`), or answered from its recording (`recorded`). */
  reused: pair(z.boolean()),
  recorded: pair(z.boolean()),
  /** The conversation sent to the model, one `role:` block per message. */
  prompt: TextDiff,
  output: TextDiff,
  /** Both outputs are JSON: what changed, structurally. */
  structured: z.array(JsonChange).optional(),
  /** Why a step failed, when it did in either run. */
  error: pair(z.object({ code: z.string(), message: z.string() }).nullable()),
});
export type StepDiff = z.infer<typeof StepDiff>;

/** Two runs compared step by step (`GET /v1/runs/{a}/diff/{b}`). */
export const RunDiff = z.object({
  a: z.string(),
  b: z.string(),
  summary: z.object({
    /** Every step in both, and none changed. */
    identical: z.boolean(),
    changed: z.array(z.string()),
    added: z.array(z.string()),
    removed: z.array(z.string()),
  }),
  status: pair(z.string()),
  usage: pair(TokenUsage),
  /** USD; `delta` = b - a. */
  cost: z.object({ a: z.number(), b: z.number(), delta: z.number() }),
  /** Creation to end, ms (null while running); `delta` = b - a. */
  durationMs: z.object({ a: z.number().nullable(), b: z.number().nullable(), delta: z.number().nullable() }),
  steps: z.array(StepDiff),
});
export type RunDiff = z.infer<typeof RunDiff>;
