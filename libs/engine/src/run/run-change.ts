import {
  AdmissionRequested,
  ExperimentOutcome,
  messageIds,
  ProductsRequested,
  RunCompleted,
  RunQueued,
  RunResumed,
  RunStarted,
  StepCompleted,
  StepDispatched,
  StepReady,
  VerifyRequested,
  type EventContract,
  type FailureInfo,
  type ProductView,
  type StepStatus,
  type StepFailed,
  type StepGenerated,
  type StepVerified,
} from '@trellis/contracts';
import type { z } from 'zod';
import type { CompiledPipeline, CompiledStep } from '../spec/compiled-pipeline';
import { getOwn, setOwn } from '../util/records';
import { advanceRun, stepEventProblem } from './advance-run';
import type { RunRecord, RunSnapshot, StepRecord } from './run-record';
import { stepValue } from './run-record';
import type { Decision, RunEvent } from './run-state';
import { bestRecord, historyOf, recordGenerated, recordVerified, reusedCandidate, startRound } from './rounds';
import { roundOutput, stepCall, verifyCall } from './step-call';
import { replayJobOf } from '../replay/recorded-calls';

/**
 * What can happen to a run, with everything the planner received: a step result carries the
 * whole message, so that the engine, not the planner, decides what of it the run keeps.
 */
export type RunInput =
  | { type: 'start' }
  | { type: 'generated'; result: StepGenerated }
  | { type: 'verified'; result: StepVerified }
  | { type: 'failed'; result: StepFailed }
  | { type: 'cancel' }
  | { type: 'resume' }
  /** A new run that waits for admission: announced queued, at this place. */
  | { type: 'queue'; position: number; estimatedWaitMs: number | null }
  /** The planner's fair dispatch frees slots: these queued steps go to their pools now. */
  | { type: 'release'; steps: string[] }
  /** The run's product files were written (`products`), or could not be (`error`). */
  | { type: 'products'; products: ProductView[]; error?: FailureInfo };

/** A message the planner publishes once the change is committed. */
export type Outgoing =
  /** A step attempt for the executors of `pool`. */
  | { queue: 'step'; pool: string; id: string; contract: typeof StepReady; data: StepReady }
  /** A candidate for the verifier. */
  | { queue: 'verify'; id: string; contract: typeof VerifyRequested; data: VerifyRequested }
  /** The planner's own job: write the run's products. */
  | { queue: 'products'; id: string; contract: typeof ProductsRequested; data: ProductsRequested }
  /** The planner's own job: a slot of the run's project may have freed. */
  | { queue: 'admission'; id: string; contract: typeof AdmissionRequested; data: AdmissionRequested }
  /** For the template registry: what happened to a run in an experiment. */
  | { queue: 'experiments'; id: string; contract: typeof ExperimentOutcome; data: ExperimentOutcome }
  /** A public event about the run. */
  | { queue: 'event'; id: string; contract: EventContract; data: unknown };

/** How the planner wants its decisions made. */
export interface DecideOptions {
  /** Give jobs their continuations (ADR 0013). Default true. */
  continuations?: boolean;
  /**
   * Whether the steps of a pool that become ready now wait in the planner's fair queue (status
   * `queued`) instead of going to the pool at once: its executors are busy (ADR 0014).
   */
  hold?: (pool: string) => boolean;
  /**
   * What is left of the project's budget for the day before this change, and the failure to
   * give when it runs out: once the usage this change records reaches it, no step is dispatched
   * (see `AdvanceOptions.blocked`).
   */
  budget?: { tokens?: number; cost?: number; failure: FailureInfo };
}

/**
 * The complete change one input makes to a run: the snapshot after it, the fields that
 * changed (what the planner writes), and the messages that announce it and carry the work it
 * implies, in publishing order. Applying it is the planner's whole job.
 */
export interface RunChange {
  applied: true;
  next: RunSnapshot;
  run: Partial<RunRecord>;
  steps: Record<string, Partial<StepRecord>>;
  messages: Outgoing[];
}

export interface IgnoredInput {
  applied: false;
  /** Why nothing changed (a duplicate, a stale attempt, a run already over, …). */
  reason: string;
  /**
   * The input is early, not wrong: the result of a continuation (ADR 0013) whose step the
   * planner has not recorded dispatched yet, because the result that made it ready is still on
   * its way. Apply it again shortly.
   */
  early?: true;
}

/**
 * Applies one input to a run and says everything that follows. Pure: `snapshot` is never
 * modified. In order:
 * 1. A step result that does not belong to the step as it stands (unknown step, stale
 *    attempt, already final) changes nothing: redelivered and overtaken messages are harmless.
 * 2. The result is recorded on its step (output, conversation, usage and cost; the verdict,
 *    its round, and on a rejection the best candidate across rounds; the failure).
 * 3. The state machine (`advanceRun`) moves the steps and the run.
 * 4. Each move is written out: a dispatch starts the step's next round of its verification
 *    loop and carries the upstream outputs it reads; a candidate goes to the verifier with the
 *    loop's history; a final step is announced; a run that ends is announced with its usage —
 *    unless it succeeded with products to write, which the planner does outside its
 *    transaction before the run ends (`ProductsRequested`, then the `products` input).
 */
export function decideRunChange(pipeline: CompiledPipeline, snapshot: RunSnapshot, input: RunInput, now: Date, options: DecideOptions = {}): RunChange | IgnoredInput {
  const draft = new Draft(pipeline, snapshot, now, options);
  const problem = draft.record(input);
  if (problem !== undefined) return { applied: false, reason: problem, ...(draft.early ? { early: true as const } : {}) };
  if (input.type === 'queue') return draft.queue(input);
  const event = toRunEvent(input);
  const blocked = draft.budgetSpent();
  // A continued step's job is on its queue already: it is recorded dispatched, never held.
  const hold = options.hold;
  const advance = { ...(hold ? { hold: (stepId: string) => !draft.wasContinued(stepId) && hold(pipeline.steps[stepId]!.pool) } : {}), ...(blocked ? { blocked } : {}) };
  const decision: Decision =
    event !== undefined
      ? advanceRun(pipeline, { status: draft.run.status, inputs: draft.run.inputs, steps: draft.steps }, event, advance)
      : draft.finishWithProducts(input as Extract<RunInput, { type: 'products' }>);
  if (!decision.applied) return { applied: false, reason: decision.ignoredReason ?? 'ignored' };
  if (input.type === 'start') draft.start();
  draft.apply(decision);
  return draft.change();
}

function toRunEvent(input: RunInput): RunEvent | undefined {
  switch (input.type) {
    case 'start':
    case 'cancel':
    case 'resume':
      return { type: input.type };
    case 'release':
      return { type: 'release', steps: input.steps };
    case 'generated':
      return { type: 'generated', stepId: input.result.stepId, attempt: input.result.attempt };
    case 'verified': {
      const e = input.result;
      const violations = e.violations.map((v) => `${v.rule}: ${v.message}`).join('; ');
      const reason = `${e.reason ?? `score ${e.score.toFixed(2)}`}${violations ? ` (${violations})` : ''}`;
      return { type: 'verified', stepId: e.stepId, attempt: e.attempt, verdict: e.verdict, reason, iteration: e.iteration ?? iterationOf(e) };
    }
    case 'failed':
      return { type: 'failed', stepId: input.result.stepId, attempt: input.result.attempt, error: input.result.error };
    case 'products':
    case 'queue':
      return undefined;
  }
}

/** A verdict without its round number (the contract allows it): the attempt bounds it. */
function iterationOf(e: StepVerified): number {
  return e.attempt;
}

/** A working copy of the run: every write goes through `setRun`/`setStep`, which also keep the patches. */
class Draft {
  run: RunRecord;
  readonly steps: Record<string, StepRecord> = {};
  private readonly runPatch: Partial<RunRecord> = {};
  private readonly stepPatches: Record<string, Partial<StepRecord>> = {};
  private readonly messages: Outgoing[] = [];
  private readonly version: number;
  /** The run as it was before this change. */
  private readonly before: RunRecord;
  /** The products input: the run ends now, whatever its files. */
  private productsWritten = false;
  /** What this change tells the registry, for a run in an experiment. */
  private readonly outcome: ExperimentOutcome = { runId: '', steps: [] };
  /** Steps whose jobs the executor already published as continuations of the result applied. */
  private continued: ReadonlySet<string> = new Set();
  /** The result was early: its step's dispatch is not recorded yet (see `IgnoredInput.early`). */
  early = false;

  constructor(
    private readonly pipeline: CompiledPipeline,
    snapshot: RunSnapshot,
    private readonly now: Date,
    private readonly options: DecideOptions,
  ) {
    this.run = snapshot.run;
    this.before = snapshot.run;
    for (const [id, step] of Object.entries(snapshot.steps)) setOwn(this.steps, id, step);
    this.version = snapshot.run.version + 1;
    this.setRun({ version: this.version });
  }

  /** Records a step result on its step; returns why it does not apply, if it does not. */
  record(input: RunInput): string | undefined {
    switch (input.type) {
      case 'generated':
        return this.recordGenerated(input.result);
      case 'verified':
        return this.recordVerified(input.result);
      case 'failed':
        return this.recordFailed(input.result);
      default:
        return undefined;
    }
  }

  private recordGenerated(e: StepGenerated): string | undefined {
    const problem = this.problem(e.stepId, e.attempt, ['dispatched']);
    if (problem) return problem;
    if (e.continued?.length) this.continued = new Set(e.continued);
    const step = this.step(e.stepId);
    // A round that kept fields of an earlier candidate answered the others: its output is the merge.
    const merged = step.iterations.length ? reusedCandidate(step.iterations, e, this.spec(e.stepId).output?.schema) : undefined;
    this.setStep(e.stepId, {
      output: merged?.output ?? e.output,
      structured: merged?.structured ?? e.structured ?? null,
      messages: e.messages,
      model: e.model,
      inputTokens: step.inputTokens + e.usage.inputTokens,
      outputTokens: step.outputTokens + e.usage.outputTokens,
      ...(e.cost ? { cost: step.cost + e.cost } : {}),
      startedAt: new Date(e.startedAt),
      executor: e.executor,
      origin: e.replayed ? 'recorded' : null,
      ...(step.iterations.length ? { iterations: recordGenerated(step.iterations, e, merged) } : {}),
    });
    // A recorded answer was not paid for now: the step shows what it cost when it was made, the
    // run counts what it spends (what its project's budget counts, ADR 0014 and 0015).
    if (!e.replayed) {
      this.setRun({
        inputTokens: this.run.inputTokens + e.usage.inputTokens,
        outputTokens: this.run.outputTokens + e.usage.outputTokens,
        ...(e.cost ? { cost: this.run.cost + e.cost } : {}),
      });
    }
    return undefined;
  }

  private recordVerified(e: StepVerified): string | undefined {
    const problem = this.problem(e.stepId, e.attempt, ['verifying']);
    if (problem) return problem;
    const step = this.step(e.stepId);
    const iterations = step.iterations.length ? recordVerified(step.iterations, e) : step.iterations;
    const patch: Partial<StepRecord> = { score: e.score, iterations };
    if (e.stop) patch.stopReason = e.stop;
    if (e.verdict === 'reject') {
      // The loop ended unaccepted: the best candidate across rounds is what the step keeps.
      const best = bestRecord(iterations);
      if (best?.output !== undefined && best.attempt !== e.attempt) {
        patch.output = best.output;
        patch.structured = best.structured ?? null;
        if (best.messages) patch.messages = best.messages;
        if (best.score !== undefined) patch.score = best.score;
      }
    }
    if (e.judgeUsage) {
      patch.inputTokens = step.inputTokens + e.judgeUsage.inputTokens;
      patch.outputTokens = step.outputTokens + e.judgeUsage.outputTokens;
      // Judges answered from a recording spent nothing now (as a recorded generation).
      const recorded = (e.calls ?? []).filter((c) => c.replayed).map((c) => c.answer.usage);
      const spent = (key: 'inputTokens' | 'outputTokens') => Math.max(0, e.judgeUsage![key] - recorded.reduce((n, u) => n + u[key], 0));
      this.setRun({ inputTokens: this.run.inputTokens + spent('inputTokens'), outputTokens: this.run.outputTokens + spent('outputTokens') });
    }
    this.setStep(e.stepId, patch);
    this.outcome.steps.push({ stepId: e.stepId, attempt: e.attempt, verdict: e.verdict, score: e.score });
    return undefined;
  }

  private recordFailed(e: StepFailed): string | undefined {
    const problem = this.problem(e.stepId, e.attempt, ['dispatched', 'verifying']);
    if (problem) return problem;
    this.setStep(e.stepId, { error: e.error, ...(e.executor ? { executor: e.executor } : {}) });
    return undefined;
  }

  /** Why a result for this step attempt does not apply to the run as it stands, or undefined. */
  private problem(stepId: string, attempt: number, expected: StepStatus[]): string | undefined {
    if (this.run.status !== 'running') return `run is ${this.run.status}`;
    const step = getOwn(this.steps, stepId);
    if (step?.status === 'pending' && attempt === step.attempt + 1) {
      this.early = true;
      return `step "${stepId}" attempt ${attempt} is not recorded dispatched yet (a continuation whose cause is still on its way)`;
    }
    return stepEventProblem(this.pipeline, { status: this.run.status, steps: this.steps }, stepId, attempt, expected);
  }

  /**
   * The `products` input: a run whose steps are all done succeeds with its files, or fails
   * naming the product that could not be built. Anything else (a run cancelled meanwhile, a
   * repeated job) is ignored.
   */
  finishWithProducts(input: Extract<RunInput, { type: 'products' }>): Decision {
    const open = Object.values(this.steps).some((s) => s.status === 'pending' || s.status === 'dispatched' || s.status === 'verifying');
    const state = { status: this.run.status, steps: this.steps };
    if (this.run.status !== 'running' || open) {
      return { applied: false, ignoredReason: `run is ${this.run.status}${open ? ' with steps still open' : ''}`, next: state, changed: [], dispatch: [], verify: [], completed: [], activated: [] };
    }
    this.setRun({ products: input.products });
    this.productsWritten = true;
    const run = input.error ? { status: 'failed' as const, error: input.error } : { status: 'succeeded' as const };
    return { applied: true, next: { ...state, status: run.status }, changed: [], dispatch: [], verify: [], completed: [], activated: [], run };
  }

  /** Whether the result applied says its executor published this step's job (a continuation). */
  wasContinued(stepId: string): boolean {
    return this.continued.has(stepId);
  }

  /** The budget's failure when what is left of it is used up, counting what this change recorded. */
  budgetSpent(): FailureInfo | undefined {
    const budget = this.options.budget;
    if (!budget) return undefined;
    const tokens = this.run.inputTokens + this.run.outputTokens - (this.before.inputTokens + this.before.outputTokens);
    const cost = this.run.cost - this.before.cost;
    if (budget.tokens !== undefined && tokens >= budget.tokens) return budget.failure;
    if (budget.cost !== undefined && cost >= budget.cost) return budget.failure;
    return undefined;
  }

  /** The run leaves the queue (or never entered it) and begins. */
  start(): void {
    const queuedMs = this.run.version > 1 ? Math.max(0, this.now.getTime() - this.run.createdAt.getTime()) : undefined;
    this.setRun({ status: 'running', startedAt: this.now });
    const { run } = this;
    this.event(RunStarted, {
      runId: run.id,
      project: run.project,
      pipeline: run.pipeline,
      pipelineVersion: run.pipelineVersion,
      inputs: run.inputs,
      steps: this.pipeline.order,
      priority: run.priority,
      ...(queuedMs !== undefined ? { queuedMs } : {}),
      ...(run.source ? { source: run.source } : {}),
    });
    // A replay's carried-over steps are done before it starts: said once, as they stand.
    for (const stepId of this.pipeline.order) {
      const step = this.step(stepId);
      if (step.origin === 'reused') this.event(StepCompleted, { runId: run.id, stepId, status: 'succeeded', attempt: step.attempt, ...(step.output !== null ? { output: step.output } : {}), reused: true });
    }
  }

  /** A new run waits for admission: nothing runs, it is announced queued at its place. */
  queue(input: Extract<RunInput, { type: 'queue' }>): RunChange | IgnoredInput {
    if (this.run.status !== 'queued' || this.run.version !== 1) return { applied: false, reason: `run is ${this.run.status}${this.run.version > 1 ? ', already announced' : ''}` };
    const { run } = this;
    this.event(RunQueued, { runId: run.id, project: run.project, pipeline: run.pipeline, priority: run.priority, position: input.position, estimatedWaitMs: input.estimatedWaitMs });
    return this.change();
  }

  /** Writes the state machine's decision out: step fields, jobs, events, and the run's end. */
  apply(decision: Decision): void {
    for (const change of decision.changed) {
      const patch: Partial<StepRecord> = { status: change.status, attempt: change.attempt };
      if (change.status === 'pending') {
        // Resumed: what the previous attempt left no longer describes the step; a gated step starts a new loop at round 1.
        Object.assign(patch, { error: null, finishedAt: null, iterations: [], stopReason: null });
      }
      this.setStep(change.stepId, patch);
    }
    for (const stepId of decision.activated) this.setStep(stepId, { activated: true });
    for (const done of decision.completed) {
      if (done.reason && !this.step(done.stepId).error) this.setStep(done.stepId, { error: done.reason });
    }
    for (const stepId of decision.dispatch) this.dispatch(stepId);
    for (const stepId of decision.verify) this.sendToVerifier(stepId);
    for (const done of decision.completed) this.complete(done.stepId, done.status);

    if (decision.run) this.end(decision.run);
    else if (decision.next.status === 'running' && (this.run.status === 'failed' || this.run.status === 'cancelled')) {
      // Resumed: executors forget that the run had ended, so its new jobs run.
      this.setRun({ status: 'running', error: null, finishedAt: null });
      this.event(RunResumed, { runId: this.run.id, steps: decision.changed.filter((c) => c.status === 'pending').map((c) => c.stepId) });
    }
  }

  change(): RunChange {
    const inExperiment = this.run.templates.some((t) => t.experiment !== null) || this.run.strategies.length > 0;
    if (inExperiment && (this.outcome.steps.length || this.outcome.run)) {
      this.messages.push({ queue: 'experiments', id: messageIds.experimentOutcome(this.run.id, this.version), contract: ExperimentOutcome, data: { ...this.outcome, runId: this.run.id } });
    }
    return { applied: true, next: { run: this.run, steps: this.steps }, run: this.runPatch, steps: this.stepPatches, messages: this.messages };
  }

  /** One round of the step: a new loop at round 1, or the loop's next round after retry/escalate. */
  private dispatch(stepId: string): void {
    const step = this.step(stepId);
    const spec = this.spec(stepId);
    const patch: Partial<StepRecord> = { dispatchedAt: this.now, startedAt: null, finishedAt: null, error: null };
    const call = stepCall(spec, this.run);
    const loop = spec.verify ? startRound(step.iterations, step.attempt, call.model, this.now) : undefined;
    const model = loop?.round.model ?? call.model;
    if (loop) Object.assign(patch, { iterations: loop.records, model, stopReason: null });
    this.setStep(stepId, patch);
    const { run } = this;
    // A continuation's job is already on the queue (the executor published it before this
    // result): publishing it again would at best be deduplicated.
    if (!this.continued.has(stepId)) {
      const then = this.continuations(stepId);
      const data: StepReady = { ...this.job(stepId, step.attempt, loop), ...(then.length ? { then } : {}) };
      this.messages.push({ queue: 'step', pool: spec.pool, id: messageIds.stepReady(run.id, stepId, step.attempt), contract: StepReady, data });
    }
    this.event(StepDispatched, { runId: run.id, stepId, attempt: step.attempt, model, pool: spec.pool });
  }

  /**
   * The jobs of the steps `stepId`'s success alone makes ready (ADR 0013), built now without
   * its output, for the executor to publish the moment it has the answer. A step qualifies when
   * `stepId` is its only dependency, it has no condition and no route into it, and every other
   * output it reads is already final; `stepId` qualifies when its answer is its success (no
   * gates) and fires no route.
   */
  private continuations(stepId: string): Array<Omit<StepReady, 'then'>> {
    const spec = this.spec(stepId);
    // A project with a budget gets none: its usage is counted as results are applied, and a
    // continuation would dispatch past a budget spent by the very answer it follows.
    if (this.options.continuations === false || this.options.budget || spec.verify || spec.onSuccess !== undefined || spec.onFailure !== undefined) return [];
    const jobs: Array<Omit<StepReady, 'then'>> = [];
    for (const next of spec.dependents) {
      const target = this.spec(next);
      const step = this.step(next);
      if (step.status !== 'pending' || target.dependsOn.length !== 1 || target.condition || target.routedFrom.length) continue;
      // A pool whose steps wait for fair dispatch takes no continuation: it would jump the queue.
      if (this.options.hold?.(target.pool)) continue;
      if (!target.reads.every((id) => id === stepId || getOwn(this.steps, id)?.status === 'succeeded')) continue;
      const attempt = step.attempt + 1;
      const loop = target.verify ? startRound(step.iterations, attempt, stepCall(target, this.run).model, this.now) : undefined;
      jobs.push(this.job(next, attempt, loop, stepId));
    }
    return jobs;
  }

  /** The job of one attempt of a step, with the outputs it reads (all but `without`'s). */
  private job(stepId: string, attempt: number, loop: ReturnType<typeof startRound> | undefined, without?: string): Omit<StepReady, 'then'> {
    const spec = this.spec(stepId);
    const { run } = this;
    const call = stepCall(spec, run);
    const output = roundOutput(spec, loop?.round);
    // A replay's job carries the source's recorded answers for this round (a continuation's too).
    const replay = replayJobOf(run, stepId, loop?.round.iteration ?? 1);
    const outputs: Record<string, { output: unknown }> = {};
    for (const id of spec.reads) {
      if (id === without) continue;
      const read = getOwn(this.steps, id);
      setOwn(outputs, id, { output: read ? stepValue(read) : null });
    }
    return {
      runId: run.id,
      project: run.project,
      stepId,
      attempt,
      pool: spec.pool,
      model: loop?.round.model ?? call.model,
      ...(spec.kind !== 'tool' ? { prompt: spec.prompt } : {}),
      ...(call.system !== undefined ? { system: call.system } : {}),
      ...(spec.tool ? { tool: spec.tool } : {}),
      ...(call.template ? { template: call.template } : {}),
      ...(output ? { output } : {}),
      ...(spec.retry ? { retry: spec.retry } : {}),
      ...(spec.timeoutMs !== undefined ? { timeoutMs: spec.timeoutMs } : {}),
      context: { inputs: run.inputs, steps: outputs },
      params: call.params,
      ...(loop ? { iteration: loop.round.iteration } : {}),
      ...(loop?.feedback !== undefined ? { feedback: loop.feedback } : {}),
      ...(loop?.previousOutput !== undefined ? { previousOutput: loop.previousOutput } : {}),
      ...(run.stream ? { stream: true } : {}),
      ...(replay ? { replay } : {}),
    };
  }

  private sendToVerifier(stepId: string): void {
    const step = this.step(stepId);
    const verify = this.spec(stepId).verify!;
    const round = step.iterations.find((r) => r.attempt === step.attempt);
    // Escalation runs once per loop.
    const escalateTo = verify.escalateTo !== undefined && !step.iterations.some((r) => r.escalated) ? verify.escalateTo : undefined;
    const { run } = this;
    const data: VerifyRequested = {
      runId: run.id,
      project: run.project,
      stepId,
      attempt: step.attempt,
      output: step.output ?? '',
      messages: step.messages ?? [],
      gates: verify.gates,
      iteration: round?.iteration ?? 1,
      policy: verify.policy,
      history: historyOf(step.iterations, step.attempt),
      model: step.model,
      ...verifyCall(this.spec(stepId), run),
      escalated: round?.escalated ?? false,
      ...(this.spec(stepId).output?.schema ? { outputSchema: this.spec(stepId).output!.schema } : {}),
      ...(escalateTo !== undefined ? { escalateTo } : {}),
    };
    const replay = replayJobOf(run, stepId, round?.iteration ?? 1, 'judge');
    if (replay) data.replay = replay;
    this.messages.push({ queue: 'verify', id: messageIds.verifyRequested(run.id, stepId, step.attempt), contract: VerifyRequested, data });
  }

  private complete(stepId: string, status: 'succeeded' | 'failed' | 'skipped' | 'cancelled'): void {
    const step = this.step(stepId);
    if (!step.finishedAt) this.setStep(stepId, { finishedAt: this.now });
    const done = this.step(stepId);
    this.outcome.steps.push({ stepId, attempt: done.attempt, status });
    this.event(StepCompleted, {
      runId: this.run.id,
      stepId,
      status,
      attempt: done.attempt,
      ...(status === 'succeeded' && done.output !== null ? { output: done.output } : {}),
      ...(done.error ? { error: done.error } : {}),
    });
  }

  private end(end: NonNullable<Decision['run']>): void {
    if (end.status === 'succeeded' && this.pipeline.products.length > 0 && !this.productsWritten) {
      // The files are written outside the run's transaction; the run ends when they are.
      this.messages.push({ queue: 'products', id: messageIds.productsRequested(this.run.id, this.version), contract: ProductsRequested, data: { runId: this.run.id } });
      return;
    }
    const wasRunning = this.run.status === 'running';
    this.setRun({ status: end.status, error: end.error ?? null, finishedAt: this.now });
    // A running run that ends frees a slot of its project (and group): its queued runs may start.
    if (wasRunning) this.messages.push({ queue: 'admission', id: messageIds.admissionRequested(this.run.id, this.version), contract: AdmissionRequested, data: { project: this.run.project } });
    const { run } = this;
    const usage = { inputTokens: run.inputTokens, outputTokens: run.outputTokens };
    const durationMs = this.now.getTime() - run.createdAt.getTime();
    this.outcome.run = { status: end.status, usage, cost: run.cost, durationMs };
    this.event(RunCompleted, { runId: run.id, status: end.status, usage, cost: run.cost, durationMs, ...(end.error ? { error: end.error } : {}) });
  }

  private event<C extends EventContract>(contract: C, data: z.input<C['data']>): void {
    this.messages.push({ queue: 'event', id: messageIds.runEvent(this.run.id, this.version, this.messages.length), contract, data });
  }

  private step(stepId: string): StepRecord {
    const step = getOwn(this.steps, stepId);
    if (!step) throw new Error(`run ${this.run.id} has no step "${stepId}"`);
    return step;
  }

  private spec(stepId: string): CompiledStep {
    return this.pipeline.steps[stepId]!;
  }

  private setRun(patch: Partial<RunRecord>): void {
    this.run = { ...this.run, ...patch };
    Object.assign(this.runPatch, patch);
  }

  private setStep(stepId: string, patch: Partial<StepRecord>): void {
    setOwn(this.steps, stepId, { ...this.step(stepId), ...patch });
    const existing = getOwn(this.stepPatches, stepId);
    if (existing) Object.assign(existing, patch);
    else setOwn(this.stepPatches, stepId, { ...patch });
  }
}
