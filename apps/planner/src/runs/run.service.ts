import { Injectable } from '@nestjs/common';
import {
  RunStarted,
  type RunView,
  type SpecSource,
  type StepFailed,
  type StepGenerated,
  type StepVerified,
} from '@trellis/contracts';
import { advanceRun, initialRunState, resolveInputs, type RunEvent } from '@trellis/engine';
import { Database, uuidv7, type EntityManager, type SqlTransaction } from '@trellis/persistence';
import { logger } from '@trellis/telemetry';
import { CompiledPipelines } from '../pipelines/compiled-pipelines';
import { PipelineAnalysisService } from '../pipelines/pipeline-analysis.service';
import { PipelineRepository } from '../pipelines/pipeline.repository';
import { EventOutbox } from '../platform/event-outbox';
import { PlannerError } from '../planner.errors';
import type { Run, StepRun } from './run.entity';
import { DecisionWriter } from './decision-writer';
import { bestRecord, recordGenerated, recordVerified } from './iterations';
import { TemplatePins } from './template-pins';
import { toRunState, toRunSummary, toRunView } from './run.mapper';
import { RunRepository } from './run.repository';
import { RunRows } from './run-rows';
import { GroupCommit } from './group-commit';

/**
 * Owns run state. Every change happens in a transaction that locks the run, asks the engine
 * what follows, stores the outcome and the events announcing it (outbox), and commits; the
 * relay publishes after commit. Step results that arrive together share one transaction.
 * Applying a result twice is a no-op: the engine ignores a result for an attempt that is not
 * the step's current one.
 */
@Injectable()
export class RunService {
  private readonly log = logger('runs');
  /** Two batches in flight: one is written while the next gathers; more would only contend for the same run locks. */
  private readonly changes = new GroupCommit<RunChange, Outcome>((batch) => this.applyBatch(batch), { maxBatch: 64, maxInFlight: 2 });

  constructor(
    private readonly db: Database,
    private readonly runs: RunRepository,
    private readonly pipelines: PipelineRepository,
    private readonly compiler: CompiledPipelines,
    private readonly outbox: EventOutbox,
    private readonly writer: DecisionWriter,
    private readonly pins: TemplatePins,
    private readonly analysis: PipelineAnalysisService,
  ) {}

  async start(request: { project: string; pipeline?: string; source?: SpecSource; inputs: Record<string, unknown>; subject?: string; feature?: string; maxRunning?: number; stream?: boolean; actor?: string; overrideAlignment?: boolean }): Promise<RunView> {
    const em = this.db.fork();
    const { planned, version } = await this.pipelineFor(em, request);
    const { spec } = planned.compiled;
    const inputs = resolveInputs(spec, request.inputs);
    if (!inputs.ok) throw new PlannerError('invalid_argument', `the run's inputs have ${inputs.issues.length} problem(s)`, inputs.issues);
    // An inline spec gets the alignment check a registered one got at registration.
    if (request.source) await this.analysis.check(this.db.fork(), planned.compiled, request.overrideAlignment ?? false);

    const runId = uuidv7();
    const templates = await this.pins.resolve(planned.compiled, { project: request.project, runId, ...(request.subject ? { subject: request.subject } : {}), ...(request.feature ? { feature: request.feature } : {}) });
    const now = new Date();
    const run = RunRows.newRun({
      id: runId,
      project: request.project,
      pipeline: spec.name,
      pipelineVersion: version,
      specHash: planned.compiled.hash,
      inputs: inputs.inputs,
      templates,
      subject: request.subject ?? null,
      stream: request.stream ?? false,
      actor: request.actor ?? null,
      createdAt: now,
    });
    const steps = new Map(planned.compiled.order.map((stepId) => [stepId, RunRows.newStep(runId, stepId, planned.compiled.steps[stepId]!.model)]));
    // An inline spec is stored first, by its hash (specs are immutable; a run that then fails
    // to start leaves a spec row, as a registration does).
    if (request.source) await this.pipelines.saveSpec(em, planned.compiled.hash, spec);
    // Two round trips, as for step results (ADR 0008): the quota check, then every insert and the commit.
    const quota = request.maxRunning !== undefined ? RunRows.countRunning(this.db.schema, request.project) : [];
    await this.db.sqlTransaction(quota, async (tx, results) => {
      if (request.maxRunning !== undefined) {
        const running = Number(results.at(-1)?.rows[0]?.running ?? 0);
        if (running >= request.maxRunning) throw new PlannerError('resource_exhausted', `the project already has ${running} running run(s), its limit is ${request.maxRunning}`);
      }
      this.outbox.event(tx, RunStarted, runId, {
        runId,
        project: run.project,
        pipeline: run.pipeline,
        pipelineVersion: version,
        inputs: run.inputs,
        steps: planned.compiled.order,
      });
      const decision = advanceRun(planned.compiled, { ...initialRunState(planned.compiled), inputs: run.inputs }, { type: 'start' });
      await this.writer.write(tx, run, steps, planned, decision);
      for (const statement of RunRows.insert(this.db.schema, run, [...steps.values()])) tx.write(statement);
      await tx.commit();
    });
    this.outbox.flush();
    return toRunView(run, [...steps.values()], planned);
  }

  applyGenerated(e: StepGenerated): Promise<void> {
    return this.advance(e.runId, { type: 'generated', stepId: e.stepId, attempt: e.attempt }, (run, step) => {
      step.output = e.output;
      step.structured = e.structured ?? null;
      step.messages = e.messages;
      step.model = e.model;
      step.inputTokens += e.usage.inputTokens;
      step.outputTokens += e.usage.outputTokens;
      step.startedAt = new Date(e.startedAt);
      step.executor = e.executor;
      if (step.iterations?.length) step.iterations = recordGenerated(step.iterations, e);
      run.inputTokens += e.usage.inputTokens;
      run.outputTokens += e.usage.outputTokens;
      if (e.cost) {
        step.cost = Number(step.cost) + e.cost;
        run.cost = Number(run.cost) + e.cost;
      }
    }).then(() => undefined);
  }

  applyVerified(e: StepVerified): Promise<void> {
    const violations = e.violations.map((v) => `${v.rule}: ${v.message}`).join('; ');
    const reason = `${e.reason ?? `score ${e.score.toFixed(2)}`}${violations ? ` (${violations})` : ''}`;
    const event = { type: 'verified' as const, stepId: e.stepId, attempt: e.attempt, verdict: e.verdict, reason, ...(e.iteration !== undefined ? { iteration: e.iteration } : {}) };
    return this.advance(e.runId, event, (run, step) => {
      step.score = e.score;
      if (step.iterations?.length) step.iterations = recordVerified(step.iterations, e);
      if (e.stop) step.stopReason = e.stop;
      if (e.verdict === 'reject') {
        // The loop ended unaccepted: the best candidate across rounds is what the step keeps.
        const best = bestRecord(step.iterations ?? []);
        if (best?.output !== undefined && best.attempt !== e.attempt) {
          step.output = best.output;
          step.structured = best.structured ?? null;
          step.messages = best.messages ?? step.messages;
          step.score = best.score ?? step.score;
        }
        step.error = { code: 'verification_rejected', message: reason, retryable: false };
      }
      if (e.judgeUsage) {
        step.inputTokens += e.judgeUsage.inputTokens;
        step.outputTokens += e.judgeUsage.outputTokens;
        run.inputTokens += e.judgeUsage.inputTokens;
        run.outputTokens += e.judgeUsage.outputTokens;
      }
    }).then(() => undefined);
  }

  applyFailed(e: StepFailed): Promise<void> {
    return this.advance(e.runId, { type: 'failed', stepId: e.stepId, attempt: e.attempt, error: e.error }, (_run, step) => {
      step.error = e.error;
      if (e.executor) step.executor = e.executor;
    }).then(() => undefined);
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

  private async control(project: string, runId: string, event: RunEvent): Promise<void> {
    // The project check only: `advance` loads and locks the run itself.
    if (!(await this.runs.exists(this.db.fork(), project, runId))) throw new PlannerError('not_found', `no run with id "${runId}"`);
    const outcome = await this.advance(runId, event, () => undefined);
    if (!outcome.applied) throw new PlannerError('failed_precondition', `cannot ${event.type} the run: ${outcome.reason}`);
  }

  async get(project: string, runId: string): Promise<RunView> {
    const em = this.db.fork();
    const found = await this.runs.withSteps(em, project, runId);
    if (!found) throw new PlannerError('not_found', `no run with id "${runId}"`);
    return toRunView(found.run, found.steps, await this.compiler.byHash(em, found.run.specHash));
  }

  async list(query: Parameters<RunRepository['list']>[1]) {
    const items = await this.runs.list(this.db.fork(), query);
    return { items: items.map(toRunSummary), next: items.length === query.limit ? (items.at(-1)?.id ?? null) : null };
  }

  private async pipelineFor(em: EntityManager, request: { project: string; pipeline?: string; source?: SpecSource }) {
    if (request.source) return { planned: this.compiler.compile(request.source), version: 0 };
    if (!request.pipeline) throw new PlannerError('invalid_argument', 'give a pipeline name or an inline spec', [{ path: ['pipeline'], message: 'required' }]);
    const pipeline = await this.pipelines.latest(em, request.project, request.pipeline);
    if (!pipeline) throw new PlannerError('not_found', `no pipeline named "${request.pipeline}"`);
    return { planned: await this.compiler.byHash(em, pipeline.specHash), version: pipeline.version };
  }

  /**
   * Applies one event to a run. `record` copies a step result onto the step before the
   * engine decides, so that conditions and dependents see it; if the engine ignores the
   * event (a stale or repeated result), it changes nothing. Events arriving together are
   * applied in one transaction (group commit, ADR 0008).
   */
  private advance(runId: string, event: RunEvent, record: (run: Run, step: StepRun) => void): Promise<Outcome> {
    return this.changes.submit({ runId, event, record });
  }

  /**
   * A batch of changes in one transaction; if it fails, each change in its own, so that one
   * change that cannot be applied fails only its own message, not its neighbours'.
   */
  private async applyBatch(changes: RunChange[]): Promise<Array<PromiseSettledResult<Outcome>>> {
    try {
      return (await this.applyTogether(changes)).map((value) => ({ status: 'fulfilled', value }));
    } catch (err) {
      if (changes.length === 1) return [{ status: 'rejected', reason: err }];
      this.log.warn({ err, changes: changes.length }, 'a batch of run changes failed; applying them one by one');
      return Promise.allSettled(changes.map(async (change) => (await this.applyTogether([change]))[0]!));
    }
  }

  /**
   * Two round trips for the whole batch: lock the runs and read their steps; then write what
   * changed, the outbox rows and commit. Changes to one run apply in arrival order.
   */
  private async applyTogether(changes: RunChange[]): Promise<Outcome[]> {
    const runIds = [...new Set(changes.map((c) => c.runId))].sort();
    const outcomes = await this.db.sqlTransaction(RunRows.select(this.db.schema, runIds), async (tx, [runRows, stepRows]) => {
      const runs = RunRows.load(this.db.schema, runRows?.rows ?? [], stepRows?.rows ?? []);
      const outcomes: Outcome[] = [];
      for (const change of changes) outcomes.push(await this.applyOne(tx, runs.get(change.runId), change));
      if (outcomes.some((o) => o.applied)) {
        for (const rows of runs.values()) for (const statement of rows.updates()) tx.write(statement);
        await tx.commit();
      }
      return outcomes;
    });
    if (outcomes.some((o) => o.applied)) this.outbox.flush();
    return outcomes;
  }

  private async applyOne(tx: SqlTransaction, rows: RunRows | undefined, { runId, event, record }: RunChange): Promise<Outcome> {
    if (!rows) {
      this.log.warn({ runId, event: event.type }, 'event for an unknown run ignored');
      return { applied: false, reason: 'unknown run' };
    }
    const { run } = rows;
    const planned = this.compiler.cached(run.specHash) ?? (await this.compiler.byHash(this.db.fork(), run.specHash));
    const steps = rows.stepsById;
    const step = 'stepId' in event ? steps.get(event.stepId) : undefined;
    // What `record` changes is undone if the engine ignores the event (it only reassigns fields).
    const before = { run: { ...run }, step: step ? { ...step } : undefined };
    if (step) record(run, step);
    const decision = advanceRun(planned.compiled, toRunState(run, rows.steps), event);
    if (!decision.applied) {
      Object.assign(run, before.run);
      if (step) Object.assign(step, before.step);
      this.log.debug({ runId, event, reason: decision.ignoredReason }, 'event ignored');
      return { applied: false, reason: decision.ignoredReason ?? 'ignored' };
    }
    await this.writer.write(tx, run, steps, planned, decision);
    return { applied: true };
  }
}

type Outcome = { applied: boolean; reason?: string };

/** One event for one run, waiting for its batch. */
interface RunChange {
  runId: string;
  event: RunEvent;
  record: (run: Run, step: StepRun) => void;
}
