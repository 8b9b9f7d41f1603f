import type { FailureInfo, RunStatus, StepStatus } from '@trellis/contracts';
import type { CompiledPipeline } from '../spec/compiled-pipeline';
import { setOwn } from '../util/records';

/**
 * Where one step stands: what the state machine reads of a {@link StepRecord} (which is
 * one). `attempt` counts dispatches: 0 until first sent, then 1, 2, …
 */
export interface StepState {
  status: StepStatus;
  attempt: number;
  /** A routed step: set when a route into it fired. */
  activated?: boolean;
  /** What conditions read as the step's output: `structured` (a JSON output, parsed), else `output`. */
  output?: unknown;
  structured?: unknown;
  score?: number | null;
  /** Why a final step ended as it did (a budget refusal fails its run once nothing is in flight). */
  error?: FailureInfo | null;
}

/** Everything the planner must persist to decide a run's next move. */
export interface RunState {
  status: RunStatus;
  steps: Record<string, StepState>;
  /** The run's inputs, for conditions. */
  inputs?: Record<string, unknown>;
}

/** The verifier's judgement of one generated candidate. */
export type StepVerdict = 'accept' | 'retry' | 'escalate' | 'reject';

/**
 * What can happen to a run. Step events carry the attempt they belong to, so a redelivered
 * or overtaken message is recognised and ignored.
 */
export type RunEvent =
  | { type: 'start' }
  | { type: 'generated'; stepId: string; attempt: number }
  /** `reason`: what the gates found, carried into the failure when the verdict is reject. */
  /** `iteration`: the verification loop's round, bounding retries by the step's policy. */
  | { type: 'verified'; stepId: string; attempt: number; verdict: StepVerdict; reason?: string; iteration: number }
  | { type: 'failed'; stepId: string; attempt: number; error: FailureInfo }
  | { type: 'cancel' }
  /** The planner's fair dispatch frees slots: these queued steps go to their pools now. */
  | { type: 'release'; steps: string[] }
  /** Re-runs the failed, cancelled and skipped steps of a failed or cancelled run. */
  | { type: 'resume' };

export type FinalStepStatus = 'succeeded' | 'failed' | 'skipped' | 'cancelled';

/**
 * The outcome of one event: the next state and the work it implies. The planner saves
 * `next` and, in the same transaction, the messages for `dispatch`, `verify`, `completed`
 * and `run`. When `applied` is false nothing changed and nothing is to be sent.
 */
export interface Decision {
  applied: boolean;
  /** Why the event was ignored (duplicate, stale attempt, run already over, …). */
  ignoredReason?: string;
  next: RunState;
  /** Every step whose status or attempt changed, with its new values, in the order changed. */
  changed: Array<{ stepId: string; status: StepStatus; attempt: number }>;
  /** Steps to send to executors; `next` already holds their new attempt. */
  dispatch: string[];
  /** Steps whose generated candidate goes to the verifier. */
  verify: string[];
  /** Steps that reached a final status with this event; `reason` says why a step was skipped or failed here. */
  completed: Array<{ stepId: string; status: FinalStepStatus; reason?: FailureInfo }>;
  /** Routed steps whose route fired with this event. */
  activated: string[];
  /** Set when the run itself ended with this event. */
  run?: { status: 'succeeded' | 'failed' | 'cancelled'; error?: FailureInfo };
}

export const FINAL_STEP_STATUSES: ReadonlySet<StepStatus> = new Set<StepStatus>(['succeeded', 'failed', 'skipped', 'cancelled']);

/** A run that has not started (queued): every step pending at attempt 0; `start` dispatches the roots. */
export function initialRunState(pipeline: CompiledPipeline): RunState {
  const steps: Record<string, StepState> = {};
  for (const id of Object.keys(pipeline.steps)) setOwn(steps, id, { status: 'pending', attempt: 0 });
  return { status: 'queued', steps };
}
