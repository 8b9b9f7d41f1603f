import { Inject, Injectable } from '@nestjs/common';
import { DEFAULT_PRIORITY, type Issue, type OutboxRow, type ProjectBudget, type ProjectUsage, type RunView, type SpecSource, type StepFailed, type StepGenerated, type StepVerified } from '@trellis/contracts';
import { callsToRecord, concurrencyGroup, decideRunChange, estimatedWaitMs, newRunSnapshot, resolveInputs, type CompiledPipeline, type DecideOptions, type NewRun, type RunInput, type RunSnapshot } from '@trellis/engine';
import { NonRetryableError, RetryableError } from '@trellis/messaging';
import { Database, GroupCommit, isUnstorable, uuidv7 } from '@trellis/persistence';
import { logger } from '@trellis/telemetry';
import { AdmissionService } from '../admission/admission.service';
import { FairDispatch } from '../admission/fair-dispatch';
import { ProjectSettingsService, type ProjectSettings } from '../admission/project-settings.service';
import { PLANNER_CONFIG, type PlannerConfig } from '../config';
import { CompiledPipelines, type PlannedPipeline } from '../pipelines/compiled-pipelines';
import { PipelineAnalysisService } from '../pipelines/pipeline-analysis.service';
import { PipelineRepository } from '../pipelines/pipeline.repository';
import { EventOutbox } from '../platform/event-outbox';
import { PlannerError } from '../planner.errors';
import { toRunSummary, toRunView } from './run.mapper';
import { RunStore, type RunWrite } from './run-store';
import type { RunListQuery } from './run-table';
import type { StoredCall } from './step-call-table';
import { TemplatePins } from './template-pins';

/** What every new run (a start or a replay) comes with: its project's settings (the gateway owns projects), its priority, who asked. */
export interface NewRunRequest {
  project: string;
  maxRunning?: number;
  weight?: number;
  budget?: ProjectBudget;
  /** Record the run's calls (its project's setting); default on. */
  recording?: boolean;
  priority?: number;
  /** Who starts it: the API key's id (the audit trail's actor). */
  actor?: string;
}

export interface StartRequest extends NewRunRequest {
  pipeline?: string;
  source?: SpecSource;
  inputs: Record<string, unknown>;
  subject?: string;
  feature?: string;
  stream?: boolean;
  /** Start an inline spec the orchestrator model found misaligned. */
  overrideAlignment?: boolean;
}

type Outcome = { applied: boolean; reason?: string; early?: true };

/**
 * Owns run state: loads a run, asks the engine what an input changes (`decideRunChange`),
 * and has the store commit exactly that with its messages (outbox). Inputs that arrive
 * together share one transaction (group commit, ADR 0008); an input the engine ignores (a
 * duplicate, a stale attempt) changes nothing.
 */
@Injectable()
export class RunService {
  private readonly log = logger('runs');
  /**
   * One batch in flight: the next gathers while it is written. A second in flight took results
   * as soon as they came, in batches half the size, and cost more per step than it saved in
   * waiting (bench/README.md, row 20); a batch holds whatever a pull delivered meanwhile.
   */
  private readonly changes = new GroupCommit<{ runId: string; input: RunInput }, Outcome>((batch) => this.applyBatch(batch), { maxBatch: 256, maxInFlight: 1 });
  /** Early results waiting for their run's next commit (`applyResult`), and commits counted for them. */
  private readonly commitWaiters = new Map<string, Array<() => void>>();
  /** Commits of step results so far. */
  private commits = 0;

  private readonly continuations: boolean;

  constructor(
    @Inject(PLANNER_CONFIG) config: PlannerConfig,
    private readonly db: Database,
    private readonly store: RunStore,
    private readonly pipelines: PipelineRepository,
    private readonly compiler: CompiledPipelines,
    private readonly outbox: EventOutbox,
    private readonly pins: TemplatePins,
    private readonly analysis: PipelineAnalysisService,
    private readonly admission: AdmissionService,
    private readonly settings: ProjectSettingsService,
    private readonly fair: FairDispatch,
  ) {
    this.continuations = config.PLANNER_CONTINUATIONS;
    fair.onRelease((runId, steps) => this.apply(runId, { type: 'release', steps }).then(() => undefined));
  }

  async start(request: StartRequest): Promise<RunView> {
    const { planned, version } = await this.pipelineFor(request);
    const { compiled } = planned;
    const checked = resolveInputs(compiled.spec, request.inputs);
    if (!checked.ok) throw invalidInputs(checked.issues);
    // An inline spec gets the alignment check a registered one got at registration.
    if (request.source) await this.analysis.check(this.db.fork(), compiled, request.overrideAlignment ?? false, { project: request.project, ...(request.feature ? { feature: request.feature } : {}) });
    await this.admissible(request);

    const runId = uuidv7();
    // The registry's answer may switch the run to another version or a strategy variant of the spec.
    const pinned = await this.pins.pinRun(compiled, version, {
      project: request.project,
      runId,
      ...(request.subject ? { subject: request.subject } : {}),
      ...(request.feature ? { feature: request.feature } : {}),
      ...(request.pipeline && !request.source ? { pipeline: request.pipeline } : {}),
    });
    const inputs = pinned.compiled === compiled ? checked : resolveInputs(pinned.compiled.spec, request.inputs);
    if (!inputs.ok) throw invalidInputs(inputs.issues);
    const fresh = newRunSnapshot(pinned.compiled, {
      id: runId,
      pipeline: compiled.spec.name,
      pipelineVersion: pinned.version,
      inputs: inputs.inputs,
      templates: pinned.templates,
      strategies: pinned.strategies,
      subject: request.subject ?? null,
      stream: request.stream ?? false,
      ...this.newRunFields(request, pinned.compiled, inputs.inputs),
    });
    // An inline spec is stored first, by its hash (specs are immutable; a run that then fails
    // to start leaves a spec row, as a registration does).
    if (request.source) await this.pipelines.saveSpec(this.db.fork(), compiled.hash, compiled.spec);
    return this.launch(pinned.compiled, fresh);
  }

  /**
   * Whether the project takes a new run (a start or a replay), before anything is asked of the
   * registry: what the gateway says of the project is stored (admission and fair dispatch
   * enforce it), and a spent budget refuses the run.
   */
  async admissible(request: NewRunRequest): Promise<void> {
    await this.settings.remember(request.project, {
      ...(request.maxRunning !== undefined ? { maxRunning: request.maxRunning } : {}),
      ...(request.weight !== undefined ? { weight: request.weight } : {}),
      ...(request.budget !== undefined ? { budget: request.budget } : {}),
    });
    const spent = await this.settings.check(request.project);
    if (spent) {
      const budget = spent.message.includes('maxCostPerDay') ? 'maxCostPerDay' : 'maxTokensPerDay';
      throw new PlannerError('resource_exhausted', spent.message, [{ path: ['budget', budget], message: spent.message }]);
    }
  }

  /** The fields of a new run that come from its request, not its pipeline: project, admission (priority, concurrency group), recording, actor. */
  newRunFields(request: NewRunRequest, compiled: CompiledPipeline, inputs: Record<string, unknown>): Pick<NewRun, 'project' | 'priority' | 'concurrencyKey' | 'recording' | 'actor' | 'createdAt'> {
    const group = concurrencyGroup(compiled, inputs);
    if (!group.ok) throw new PlannerError('invalid_argument', group.message, [{ path: ['concurrency', 'key'], message: group.message }]);
    return {
      project: request.project,
      priority: request.priority ?? DEFAULT_PRIORITY,
      concurrencyKey: group.group,
      recording: request.recording ?? true,
      actor: request.actor ?? null,
      createdAt: new Date(),
    };
  }

  /**
   * Every new run's way in (a start, or a replay with its carried-over steps): admission starts
   * it now or queues it (ADR 0014), in one transaction that inserts the run, its steps, `calls`
   * (a replay's copy of the recording of its carried-over steps) and its first messages.
   */
  async launch(compiled: CompiledPipeline, fresh: RunSnapshot, calls: readonly StoredCall[] = []): Promise<RunView> {
    const committed = await this.admission.admitNew(fresh, (run) => this.optionsFor(run), calls);
    return this.view(committed, compiled);
  }

  /** A project's usage today and its runs running and queued. */
  usage(project: string): Promise<ProjectUsage> {
    return this.settings.usageOf(project, true);
  }

  /** New settings for a project: stored, then an admission pass (a raised limit lets queued runs in). */
  async projectSettings(project: string, settings: ProjectSettings): Promise<ProjectUsage> {
    await this.settings.remember(project, settings);
    await this.admit(project);
    return this.settings.usageOf(project, true);
  }

  /** Starts the project's queued runs that fit now (an admission pass). */
  admit(project: string): Promise<number> {
    return this.admission.pass(project, (run) => this.optionsFor(run));
  }

  /** What the planner asks of every decision about a run: continuations, fair dispatch, its project's budget. */
  private optionsFor(snapshot: RunSnapshot): DecideOptions {
    const budget = this.settings.remaining(snapshot.run.project);
    // Continuations save the next step a wait for this planner; when the planner is behind, its
    // results would overtake their causes instead, so they are given only while it keeps up.
    const continuations = this.continuations && this.changes.backlog <= CONTINUATION_BACKLOG;
    return { continuations, hold: (pool) => this.fair.hold(pool), ...(budget ? { budget } : {}) };
  }

  /** The view of a run; a queued run's place in its project's queue and the wait to expect. */
  private async view(snapshot: RunSnapshot, compiled: CompiledPipeline): Promise<RunView> {
    if (snapshot.run.status !== 'queued') return toRunView(snapshot, compiled, null);
    const [position, mean] = await this.store.query([this.store.sql.queuePosition(snapshot.run), this.store.sql.meanDuration(snapshot.run.project, snapshot.run.pipeline)]);
    const place = Number(position?.rows[0]?.position ?? 1);
    const { maxRunning } = await this.settings.of(snapshot.run.project);
    const meanMs = mean?.rows[0]?.meanMs;
    return toRunView(snapshot, compiled, { position: place, estimatedWaitMs: estimatedWaitMs(place, maxRunning, meanMs === null || meanMs === undefined ? null : Number(meanMs)) });
  }

  applyGenerated(result: StepGenerated): Promise<void> {
    return this.applyResult(result.runId, { type: 'generated', result });
  }

  applyVerified(result: StepVerified): Promise<void> {
    return this.applyResult(result.runId, { type: 'verified', result });
  }

  applyFailed(result: StepFailed): Promise<void> {
    return this.applyResult(result.runId, { type: 'failed', result });
  }

  /**
   * A step result. One that overtook the result which made its step ready (a continuation's,
   * ADR 0013) waits for its run's next commit here — that result is already being applied,
   * having been delivered first — and is tried again; if the run does not move within a
   * second, the message goes back to the queue for a little while.
   */
  private async applyResult(runId: string, input: RunInput): Promise<void> {
    for (let tries = 0; ; tries++) {
      const seen = this.commits;
      const outcome = await this.apply(runId, input);
      if (!outcome.early) return;
      // A commit while this was decided may have moved the run: then try again at once.
      if (this.commits !== seen && tries < EARLY_RESULT_TRIES) continue;
      if (tries === EARLY_RESULT_TRIES || !(await this.nextCommit(runId, EARLY_RESULT_WAIT_MS))) {
        throw new RetryableError(outcome.reason ?? 'early result', { code: 'early_result', retryAfterMs: EARLY_RESULT_WAIT_MS });
      }
    }
  }

  /** Resolves true at the next commit that changes the run, false after `timeoutMs`. */
  private nextCommit(runId: string, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const waiting = this.commitWaiters.get(runId) ?? [];
      const timer = setTimeout(() => {
        const left = (this.commitWaiters.get(runId) ?? []).filter((w) => w !== wake);
        if (left.length) this.commitWaiters.set(runId, left);
        else this.commitWaiters.delete(runId);
        resolve(false);
      }, timeoutMs);
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      waiting.push(wake);
      this.commitWaiters.set(runId, waiting);
    });
  }

  /** The run's products were written (or could not be): it ends. */
  applyProducts(runId: string, input: Extract<RunInput, { type: 'products' }>): Promise<void> {
    return this.apply(runId, input).then(() => undefined);
  }

  /** Stops dispatch; executors abort the run's in-flight calls when they see `run.completed` (cancelled). */
  async cancel(project: string, runId: string): Promise<RunView> {
    await this.control(project, runId, { type: 'cancel' });
    return this.get(project, runId);
  }

  /** Re-runs the failed, cancelled and skipped steps of a finished run, reusing completed outputs. */
  async resume(project: string, runId: string): Promise<RunView> {
    await this.control(project, runId, { type: 'resume' });
    return this.get(project, runId);
  }

  async get(project: string, runId: string): Promise<RunView> {
    const snapshot = await this.store.read(project, runId);
    if (!snapshot) throw new PlannerError('not_found', `no run with id "${runId}"`);
    return this.view(snapshot, (await this.pipelineOf(snapshot.run.specHash)).compiled);
  }

  /** A run as stored, whatever its project (the planner's own jobs). */
  async snapshot(runId: string): Promise<{ snapshot: RunSnapshot; planned: PlannedPipeline } | undefined> {
    const snapshot = await this.store.readById(runId);
    return snapshot ? { snapshot, planned: await this.pipelineOf(snapshot.run.specHash) } : undefined;
  }

  async list(query: RunListQuery) {
    const items = await this.store.list(query);
    return { items: items.map(toRunSummary), next: items.length === query.limit ? (items.at(-1)?.id ?? null) : null };
  }

  private async control(project: string, runId: string, input: RunInput): Promise<void> {
    // The project check only: the change reads the run itself.
    if (!(await this.store.exists(project, runId))) throw new PlannerError('not_found', `no run with id "${runId}"`);
    const outcome = await this.apply(runId, input);
    if (!outcome.applied) throw new PlannerError('failed_precondition', `cannot ${input.type} the run: ${outcome.reason}`);
  }

  private apply(runId: string, input: RunInput): Promise<Outcome> {
    return this.changes.submit({ runId, input });
  }

  private async pipelineFor(request: { project: string; pipeline?: string; source?: SpecSource }) {
    if (request.source) return { planned: this.compiler.compile(request.source), version: 0 };
    if (!request.pipeline) throw new PlannerError('invalid_argument', 'give a pipeline name or an inline spec', [{ path: ['pipeline'], message: 'required' }]);
    const pipeline = await this.pipelines.latestVersion(this.db, request.project, request.pipeline);
    if (!pipeline) throw new PlannerError('not_found', `no pipeline named "${request.pipeline}"`);
    return { planned: await this.pipelineOf(pipeline.specHash), version: pipeline.version };
  }

  /** A run's compiled pipeline, by its spec's hash. */
  pipelineOf(specHash: string): Promise<PlannedPipeline> | PlannedPipeline {
    return this.compiler.cached(specHash) ?? this.compiler.byHash(this.db.fork(), specHash);
  }

  /**
   * A batch of inputs in one transaction; if it fails, each input in its own, so that one
   * input that cannot be applied fails only its own message, not its neighbours'.
   */
  private async applyBatch(batch: Array<{ runId: string; input: RunInput }>): Promise<Array<PromiseSettledResult<Outcome>>> {
    try {
      return (await this.applyTogether(batch)).map((value) => ({ status: 'fulfilled', value }));
    } catch (err) {
      if (batch.length === 1) return [{ status: 'rejected', reason: finalIfUnstorable(err) }];
      this.log.warn({ err, inputs: batch.length }, 'a batch of run changes failed; applying them one by one');
      return Promise.allSettled(
        batch.map(async (one) => {
          try {
            return (await this.applyTogether([one]))[0]!;
          } catch (e) {
            throw finalIfUnstorable(e);
          }
        }),
      );
    }
  }

  /** The inputs of a batch, each run's in arrival order, decided and committed together. */
  private async applyTogether(batch: Array<{ runId: string; input: RunInput }>): Promise<Outcome[]> {
    const now = new Date();
    const { outcomes, writes: committed } = await this.store.transact(
      batch.map((b) => b.runId),
      async (runs) => {
        const working = new Map<string, RunWrite>();
        const outbox: OutboxRow[] = [];
        const outcomes: Outcome[] = [];
        for (const { runId, input } of batch) {
          const current = working.get(runId)?.next ?? runs.get(runId);
          if (!current) {
            this.log.warn({ runId, input: input.type }, 'input for an unknown run ignored');
            outcomes.push({ applied: false, reason: 'unknown run' });
            continue;
          }
          const { compiled } = await this.pipelineOf(current.run.specHash);
          const change = decideRunChange(compiled, current, input, now, this.optionsFor(current));
          if (!change.applied) {
            this.log.debug({ runId, input: input.type, reason: change.reason }, 'input ignored');
            outcomes.push({ applied: false, reason: change.reason, ...(change.early ? { early: true as const } : {}) });
            continue;
          }
          const write = working.get(runId);
          if (write) {
            write.next = change.next;
            Object.assign(write.run, change.run);
            for (const [stepId, patch] of Object.entries(change.steps)) {
              const merged = Object.prototype.hasOwnProperty.call(write.steps, stepId) ? { ...write.steps[stepId], ...patch } : patch;
              Object.defineProperty(write.steps, stepId, { value: merged, enumerable: true, writable: true, configurable: true });
            }
          } else {
            working.set(runId, { before: current, next: change.next, run: { ...change.run }, steps: { ...change.steps } });
          }
          // The run's recording: the exact calls behind each result it applied (ADR 0015).
          const calls = callsToRecord(current, input, now);
          if (calls.length) (working.get(runId)!.calls ??= []).push(...calls.map((c) => ({ ...c, runId })));
          outbox.push(...this.outbox.rows(runId, change.messages));
          outcomes.push({ applied: true });
        }
        return { writes: [...working.values()], outbox, value: { outcomes, writes: [...working.values()] }, ignored: outcomes.some((o) => !o.applied) };
      },
    );
    if (outcomes.some((o) => o.applied)) {
      this.commits++;
      this.outbox.flush();
      this.admission.afterCommit(committed);
      for (const w of committed) {
        const tokens = w.next.run.inputTokens + w.next.run.outputTokens - (w.before.run.inputTokens + w.before.run.outputTokens);
        this.settings.record(w.next.run.project, tokens, w.next.run.cost - w.before.run.cost);
      }
      batch.forEach(({ runId }, i) => {
        if (!outcomes[i]?.applied) return;
        const waiting = this.commitWaiters.get(runId);
        if (!waiting) return;
        this.commitWaiters.delete(runId);
        for (const wake of waiting) wake();
      });
    }
    return outcomes;
  }
}

function invalidInputs(issues: Issue[]): PlannerError {
  return new PlannerError('invalid_argument', `the run's inputs have ${issues.length} problem(s)`, issues);
}

/**
 * A change PostgreSQL refuses for its data (a NUL character in an output, say) fails the
 * same way every time: its message is dead-lettered at once, and the step fails with why
 * (the result handler's `onDeadLetter`), instead of being retried for hours.
 */
function finalIfUnstorable(err: unknown): unknown {
  if (!isUnstorable(err)) return err;
  return new NonRetryableError(`PostgreSQL cannot store this result: ${err instanceof Error ? err.message : String(err)}`, { code: 'unstorable_result', cause: err });
}

/** How long an early result waits for its run to move, and how many times it is tried before going back to the queue. */
const EARLY_RESULT_WAIT_MS = 1_000;
const EARLY_RESULT_TRIES = 3;

/** Inputs waiting for the planner beyond which jobs carry no continuations (ADR 0013). */
const CONTINUATION_BACKLOG = 4;
