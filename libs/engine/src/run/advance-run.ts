import type { FailureInfo, StepStatus } from '@trellis/contracts';
import { evaluateCondition, type ConditionScope } from '../conditions/condition';
import type { CompiledPipeline, CompiledStep } from '../spec/compiled-pipeline';
import { getOwn, setOwn } from '../util/records';
import { FINAL_STEP_STATUSES, type Decision, type FinalStepStatus, type RunEvent, type RunState, type StepState } from './run-state';

/**
 * Applies one event to a run and says what follows. Pure: `state` is never modified.
 * Semantics (README, "Run state machine"; docs/pipeline-spec.md, "How a run proceeds"):
 * - A step is ready when every dependency succeeded and, for a routed step (the target of an
 *   on_false/on_success/on_failure), when a route into it fired. A ready step with a
 *   condition runs when the condition holds; otherwise it is skipped and its on_false fires.
 * - A step is skipped when a dependency ended without success, or when it is routed and
 *   every route source has ended without firing into it. Skips propagate downstream.
 * - `generated`: a step with gates goes to the verifier; one without succeeds.
 * - `verified`: accept → succeeded; reject → failed; retry/escalate → dispatched again at
 *   attempt + 1 (failed once the policy's rounds, plus one escalation, are used).
 * - A success fires on_success. A failure with on_failure is handled: the route fires and
 *   the run goes on. A failure without it fails the run at once: pending steps are skipped,
 *   in-flight steps cancelled.
 * - When no step is pending or in flight, the run succeeds.
 * - `cancel`: the run is cancelled. `resume` (failed or cancelled runs): failed, cancelled
 *   and skipped steps become pending again and the run goes on; completed outputs are kept.
 * Anything else (a run no longer running, an unknown step, a stale attempt, a step already
 * final, a status that does not expect the event) is ignored with a reason, so redelivered
 * and out-of-order messages are harmless.
 */
export function advanceRun(pipeline: CompiledPipeline, state: RunState, event: RunEvent, options: AdvanceOptions = {}): Decision {
  if (event.type === 'resume') {
    if (state.status !== 'failed' && state.status !== 'cancelled') return ignored(state, `run is ${state.status}; only a failed or cancelled run resumes`);
    const t = new Transition(pipeline, { ...state, status: 'running' }, options);
    t.resume();
    t.settle();
    return t.decision();
  }
  if (state.status === 'queued') {
    // A run waiting for admission: it starts, or is cancelled while it waits.
    if (event.type === 'start') {
      const t = new Transition(pipeline, { ...state, status: 'running' }, options);
      t.settle();
      return t.decision();
    }
    if (event.type === 'cancel') {
      const t = new Transition(pipeline, state, options);
      t.endRun('cancelled');
      return t.decision();
    }
    return ignored(state, 'run is queued');
  }
  if (state.status !== 'running') return ignored(state, `run is ${state.status}`);
  switch (event.type) {
    case 'start':
      return ignored(state, 'run already started');
    case 'release': {
      const queued = event.steps.filter((stepId) => getOwn(state.steps, stepId)?.status === 'queued');
      if (!queued.length) return ignored(state, 'no step to release is queued');
      const t = new Transition(pipeline, state, options);
      for (const stepId of queued) t.dispatch(stepId);
      t.settle();
      return t.decision();
    }
    case 'generated': {
      const problem = stepEventProblem(pipeline, state, event.stepId, event.attempt, ['dispatched']);
      if (problem) return ignored(state, problem);
      const t = new Transition(pipeline, state, options);
      if (pipeline.steps[event.stepId]?.verify) t.sendToVerifier(event.stepId);
      else t.succeed(event.stepId);
      t.settle();
      return t.decision();
    }
    case 'verified': {
      const problem = stepEventProblem(pipeline, state, event.stepId, event.attempt, ['verifying']);
      if (problem) return ignored(state, problem);
      const t = new Transition(pipeline, state, options);
      if (event.verdict === 'accept') t.succeed(event.stepId);
      else if (event.verdict === 'reject') {
        t.fail(event.stepId, {
          code: 'verification_rejected',
          message: `step "${event.stepId}" attempt ${event.attempt} was rejected by its quality gates${event.reason ? `: ${event.reason}` : ''}`,
          retryable: false,
        });
      } else if (roundsExhausted(pipeline.steps[event.stepId]!, event)) {
        t.fail(event.stepId, {
          code: 'attempts_exhausted',
          message: `step "${event.stepId}" was not accepted after ${event.iteration} rounds (last verdict: ${event.verdict})`,
          retryable: false,
        });
      } else t.dispatch(event.stepId);
      t.settle();
      return t.decision();
    }
    case 'failed': {
      const problem = stepEventProblem(pipeline, state, event.stepId, event.attempt, ['dispatched', 'verifying']);
      if (problem) return ignored(state, problem);
      const t = new Transition(pipeline, state, options);
      t.fail(event.stepId, event.error);
      t.settle();
      return t.decision();
    }
    case 'cancel': {
      const t = new Transition(pipeline, state, options);
      t.endRun('cancelled');
      return t.decision();
    }
  }
}

/**
 * A safety net under the verifier's own stop rules: a step's loop has at most
 * `maxIterations` rounds plus one escalation round.
 */
function roundsExhausted(step: CompiledStep, event: { iteration: number }): boolean {
  const policy = step.verify?.policy;
  if (!policy) return true;
  return event.iteration >= policy.maxIterations + (policy.escalate ? 1 : 0);
}

/** Why a step result does not apply to the run as it stands (unknown step, stale attempt, …), or undefined. */
export function stepEventProblem(
  pipeline: CompiledPipeline,
  state: RunState,
  stepId: string,
  attempt: number,
  expected: StepStatus[],
): string | undefined {
  const step = getOwn(state.steps, stepId);
  if (!step || !getOwn(pipeline.steps, stepId)) return `unknown step "${stepId}"`;
  if (FINAL_STEP_STATUSES.has(step.status)) return `step "${stepId}" is already ${step.status}`;
  if (attempt !== step.attempt) return `stale event: attempt ${attempt} of step "${stepId}", current attempt is ${step.attempt}`;
  if (!expected.includes(step.status)) return `step "${stepId}" is ${step.status}, not ${expected.join(' or ')}`;
  return undefined;
}

/** The failure of steps a spent budget refuses (`AdvanceOptions.blocked`). */
export const BUDGET_EXHAUSTED = 'budget_exhausted';

function ignored(state: RunState, reason: string): Decision {
  return { applied: false, ignoredReason: reason, next: state, changed: [], dispatch: [], verify: [], completed: [], activated: [] };
}

const IN_FLIGHT: ReadonlySet<StepStatus> = new Set<StepStatus>(['dispatched', 'verifying']);
/** Not final: waiting for dependencies, for a dispatch slot, or in flight. */
const OPEN: ReadonlySet<StepStatus> = new Set<StepStatus>(['pending', 'queued', 'dispatched', 'verifying']);

/** What the planner asks of a decision beyond the run's own state. */
export interface AdvanceOptions {
  /**
   * Whether a step that becomes ready now waits for a dispatch slot (status `queued`) instead of
   * going to its pool at once: the planner's fair dispatch holds the steps of a busy pool and
   * releases them in fair order (the `release` event).
   */
  hold?: (stepId: string) => boolean;
  /**
   * The project's budget is spent: no step is dispatched; each that becomes ready fails with
   * this reason, steps in flight finish, and then the run fails with it.
   */
  blocked?: FailureInfo;
}

/** Accumulates one decision on a copy of the state; step states are replaced, never edited. */
class Transition {
  private readonly steps: Record<string, StepState> = {};
  private readonly result: Omit<Decision, 'applied' | 'next'> = { changed: [], dispatch: [], verify: [], completed: [], activated: [] };
  private runStatus: RunState['status'];

  /** Set when a step failed for the budget: the run fails with it once nothing is in flight. */
  private blockedBy: FailureInfo | undefined;

  constructor(
    private readonly pipeline: CompiledPipeline,
    private readonly state: RunState,
    private readonly options: AdvanceOptions = {},
  ) {
    for (const [id, step] of Object.entries(state.steps)) setOwn(this.steps, id, step);
    this.runStatus = state.status;
  }

  dispatch(stepId: string): void {
    this.set(stepId, { status: 'dispatched', attempt: this.attemptOf(stepId) + 1 });
    this.result.dispatch.push(stepId);
  }

  /** A step ready to run: held for a dispatch slot, refused by a spent budget, or dispatched. */
  private ready(stepId: string): void {
    const { blocked, hold } = this.options;
    if (blocked) {
      // The budget stops new work; what is in flight finishes (settle ends the run after it).
      this.blockedBy = blocked;
      this.set(stepId, { status: 'failed' }, blocked);
      return;
    }
    if (hold?.(stepId)) this.set(stepId, { status: 'queued' });
    else this.dispatch(stepId);
  }

  sendToVerifier(stepId: string): void {
    this.set(stepId, { status: 'verifying' });
    this.result.verify.push(stepId);
  }

  succeed(stepId: string): void {
    this.set(stepId, { status: 'succeeded' });
    this.route(this.step(stepId).onSuccess);
  }

  fail(stepId: string, error: FailureInfo): void {
    this.set(stepId, { status: 'failed' }, error);
    const handler = this.step(stepId).onFailure;
    if (handler !== undefined) this.route(handler);
    else this.endRun('failed', error);
  }

  /** Failed, cancelled and skipped steps run again; a routed step keeps the routes that fired. */
  resume(): void {
    this.runStatus = 'running';
    for (const id of this.pipeline.order) {
      const step = getOwn(this.steps, id);
      if (step && (step.status === 'failed' || step.status === 'cancelled' || step.status === 'skipped')) this.set(id, { status: 'pending' });
    }
  }

  /**
   * Moves every pending step that can move: dispatch the ready, skip the unreachable,
   * evaluate conditions. Repeats until nothing changes (a skip can unblock a routed step),
   * then ends the run when nothing is left to wait for.
   */
  settle(): void {
    if (this.runStatus !== 'running') return;
    for (let changed = true; changed && this.runStatus === 'running'; ) {
      changed = false;
      for (const id of this.pipeline.order) {
        if (this.runStatus !== 'running') break;
        if (getOwn(this.steps, id)?.status !== 'pending') continue;
        if (this.settleStep(id)) changed = true;
      }
    }
    if (this.runStatus !== 'running') return;
    const open = Object.values(this.steps).some((s) => OPEN.has(s.status));
    const blocked = this.blockedBy ?? Object.values(this.steps).find((s) => s.status === 'failed' && s.error?.code === BUDGET_EXHAUSTED)?.error ?? undefined;
    if (!open) this.finish(blocked ? 'failed' : 'succeeded', blocked);
  }

  /** Fail fast and cancel alike: nothing pending will run, nothing in flight will count. */
  endRun(status: 'failed' | 'cancelled', error?: FailureInfo): void {
    for (const id of this.pipeline.order) {
      const step = getOwn(this.steps, id);
      if (step?.status === 'pending' || step?.status === 'queued') this.set(id, { status: 'skipped' }, { code: `run_${status}`, message: `the run ${status} before this step ran`, retryable: false });
      else if (step && IN_FLIGHT.has(step.status)) this.set(id, { status: 'cancelled' });
    }
    this.finish(status, error);
  }

  decision(): Decision {
    const next: RunState = { ...this.state, status: this.runStatus, steps: this.steps };
    return { applied: true, next, ...this.result };
  }

  private settleStep(id: string): boolean {
    const step = this.step(id);
    const blocked = step.dependsOn.find((dep) => {
      const s = getOwn(this.steps, dep)?.status;
      return s !== undefined && FINAL_STEP_STATUSES.has(s) && s !== 'succeeded';
    });
    if (blocked !== undefined) {
      const status = getOwn(this.steps, blocked)?.status;
      this.set(id, { status: 'skipped' }, { code: 'dependency_not_succeeded', message: `dependency "${blocked}" ${status}`, retryable: false });
      return true;
    }
    if (!step.dependsOn.every((dep) => getOwn(this.steps, dep)?.status === 'succeeded')) return false;
    if (step.routedFrom.length > 0 && !getOwn(this.steps, id)?.activated) {
      const sourcesDone = step.routedFrom.every((r) => FINAL_STEP_STATUSES.has(getOwn(this.steps, r.from)?.status ?? 'pending'));
      if (!sourcesDone) return false;
      this.set(id, { status: 'skipped' }, { code: 'not_routed', message: `no route into "${id}" fired`, retryable: false });
      return true;
    }
    if (step.condition) {
      const result = evaluateCondition(step.condition, this.scope());
      if (!result.ok) {
        this.fail(id, { code: 'condition_error', message: result.message, retryable: false });
        return true;
      }
      if (!result.value) {
        this.set(id, { status: 'skipped' }, { code: 'condition_false', message: `condition "${step.condition.source}" is false`, retryable: false });
        this.route(step.onFalse);
        return true;
      }
    }
    this.ready(id);
    return true;
  }

  private route(target: string | undefined): void {
    if (target === undefined) return;
    const step = getOwn(this.steps, target);
    if (!step || step.status !== 'pending' || step.activated) return;
    this.set(target, { activated: true }, undefined, false);
    this.result.activated.push(target);
  }

  private scope(): ConditionScope {
    const steps: ConditionScope['steps'] = {};
    for (const [id, s] of Object.entries(this.steps)) setOwn(steps, id, { output: s.structured ?? s.output ?? null, score: s.score ?? null, status: s.status });
    return { inputs: this.state.inputs ?? {}, steps };
  }

  private finish(status: 'succeeded' | 'failed' | 'cancelled', error?: FailureInfo): void {
    this.runStatus = status;
    this.result.run = error ? { status, error } : { status };
  }

  private step(id: string): CompiledStep {
    return this.pipeline.steps[id]!;
  }

  private attemptOf(stepId: string): number {
    return getOwn(this.steps, stepId)?.attempt ?? 0;
  }

  private set(stepId: string, patch: Partial<StepState>, reason?: FailureInfo, record = true): void {
    const current = getOwn(this.steps, stepId) ?? { status: 'pending' as StepStatus, attempt: 0 };
    const next = { ...current, ...patch };
    setOwn(this.steps, stepId, next);
    if (!record) return;
    this.result.changed.push({ stepId, status: next.status, attempt: next.attempt });
    if (FINAL_STEP_STATUSES.has(next.status)) {
      this.result.completed.push({ stepId, status: next.status as FinalStepStatus, ...(reason ? { reason } : {}) });
    }
  }
}
