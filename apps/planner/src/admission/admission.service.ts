import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { admits, decideRunChange, estimatedWaitMs, type DecideOptions, type RunSnapshot } from '@trellis/engine';
import { messageIds, AdmissionRequested } from '@trellis/contracts';
import { GroupCommit } from '@trellis/persistence';
import { logger } from '@trellis/telemetry';
import { PLANNER_CONFIG, type PlannerConfig } from '../config';
import { CompiledPipelines } from '../pipelines/compiled-pipelines';
import { EventOutbox } from '../platform/event-outbox';
import { RunStore, type RunWrite } from '../runs/run-store';
import type { StoredCall } from '../runs/step-call-table';
import { snapshotsOf } from '../runs/run-table';
import { FairDispatch } from './fair-dispatch';
import { PassTurns } from './pass-turns';
import { ProjectSettingsService } from './project-settings.service';

/** A new run waiting for its batch, and the recorded calls it starts with (a replay's carried-over steps'). */
interface Arrival {
  fresh: RunSnapshot;
  options: (snapshot: RunSnapshot) => DecideOptions;
  calls: readonly StoredCall[];
}

/** Queued runs considered per admission pass (a pass repeats while it starts some). */
const CANDIDATES = 200;
/** How often a planner takes up steps held in the database that no planner holds in memory. */
const ADOPT_EVERY_MS = 30_000;

/**
 * Admission (ADR 0014): a run starts at once when its project has a free slot
 * (`maxRunning`), its concurrency group too, and no run of the project waits already; otherwise
 * it is queued — accepted, never refused for capacity — and announced with its place. When a
 * running run ends, the engine asks for an admission pass of its project (the planner's own work
 * queue), which starts the queued runs that fit, by priority, then in order of submission.
 * Everything is in PostgreSQL under the project's advisory lock: a planner restart loses no
 * queued run nor its order, and two planners never both take the last slot.
 */
@Injectable()
export class AdmissionService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = logger('admission');
  private adopter: NodeJS.Timeout | undefined;

  constructor(
    @Inject(PLANNER_CONFIG) private readonly config: PlannerConfig,
    private readonly store: RunStore,
    private readonly compiler: CompiledPipelines,
    private readonly outbox: EventOutbox,
    private readonly settings: ProjectSettingsService,
    private readonly fair: FairDispatch,
  ) {}

  /** Admission passes, per project: they take turns in this process. */
  private readonly turns = new PassTurns<number>();
  /**
   * New runs arriving together are admitted together (group commit): one transaction locks
   * their projects, reads the counts once and decides each run in order of arrival. A burst of
   * a thousand starts costs a few transactions, not a thousand turns of one project's lock.
   */
  private readonly arrivals = new GroupCommit<Arrival, RunSnapshot>((batch) => this.admitBatch(batch), { maxBatch: 256, maxInFlight: 1 });

  /** A new run: started now if it fits, else queued at its place. Resolves with the run as committed. */
  admitNew(fresh: RunSnapshot, options: (snapshot: RunSnapshot) => DecideOptions, calls: readonly StoredCall[] = []): Promise<RunSnapshot> {
    return this.arrivals.submit({ fresh, options, calls });
  }

  private async admitBatch(batch: Arrival[]): Promise<Array<PromiseSettledResult<RunSnapshot>>> {
    try {
      const committed = await this.admitTogether(batch);
      return committed.map((value) => ({ status: 'fulfilled', value }));
    } catch (err) {
      if (batch.length === 1) return [{ status: 'rejected', reason: err }];
      this.log.warn({ err, runs: batch.length }, 'admitting a batch of new runs failed; admitting them one by one');
      return Promise.allSettled(batch.map(async (one) => (await this.admitTogether([one]))[0]!));
    }
  }

  private async admitTogether(batch: Arrival[]): Promise<RunSnapshot[]> {
    const runs = batch.map((b) => b.fresh.run);
    const planned = await Promise.all(runs.map((r) => this.compiler.cachedOrLoad(r.specHash)));
    const settings = await Promise.all(runs.map((r) => this.settings.of(r.project)));
    const projects = [...new Set(runs.map((r) => r.project))];
    const groups = [...new Map(runs.filter((r) => r.concurrencyKey !== null).map((r) => [`${r.project}\n${r.concurrencyKey}`, [r.project, r.concurrencyKey!] as const])).values()];
    const pipelines = [...new Map(runs.map((r) => [`${r.project}\n${r.pipeline}`, [r.project, r.pipeline] as const])).values()];
    const changes = await this.store.locked(this.store.sql.admissionCounts(projects, groups, pipelines), async ([, running, groupRunning, queued, durations]) => {
      const runningOf = new Map((running?.rows ?? []).map((r) => [String(r.project), Number(r.running)]));
      const groupOf = new Map((groupRunning?.rows ?? []).map((r) => [`${r.project}\n${r.group}`, Number(r.running)]));
      const queuedOf = new Map<string, number[]>();
      for (const r of queued?.rows ?? []) {
        const byPriority = queuedOf.get(String(r.project)) ?? [0, 0, 0, 0, 0, 0];
        byPriority[Number(r.priority)] = Number(r.queued);
        queuedOf.set(String(r.project), byPriority);
      }
      const meanOf = new Map((durations?.rows ?? []).map((r) => [`${r.project}\n${r.pipeline}`, r.meanMs === null ? null : Number(r.meanMs)]));
      const now = new Date();
      const decided = batch.map(({ fresh, options, calls }, i) => {
        const { run } = fresh;
        const { compiled } = planned[i]!;
        const { maxRunning } = settings[i]!;
        const byPriority = queuedOf.get(run.project) ?? [0, 0, 0, 0, 0, 0];
        queuedOf.set(run.project, byPriority);
        const ahead = byPriority.slice(run.priority).reduce((n, c) => n + c, 0);
        const projectRunning = runningOf.get(run.project) ?? 0;
        const groupKey = `${run.project}\n${run.concurrencyKey}`;
        const limits = { maxRunning, ...(compiled.concurrency ? { groupMax: compiled.concurrency.max } : {}) };
        const fits = ahead === 0 && admits(limits, { project: projectRunning, group: groupOf.get(groupKey) ?? 0 });
        if (fits) {
          runningOf.set(run.project, projectRunning + 1);
          if (run.concurrencyKey !== null) groupOf.set(groupKey, (groupOf.get(groupKey) ?? 0) + 1);
        } else {
          byPriority[run.priority]! += 1;
        }
        const input = fits
          ? ({ type: 'start' } as const)
          : ({ type: 'queue', position: ahead + 1, estimatedWaitMs: estimatedWaitMs(ahead + 1, maxRunning, meanOf.get(`${run.project}\n${run.pipeline}`) ?? null) } as const);
        const change = decideRunChange(compiled, fresh, input, now, options(fresh));
        if (!change.applied) throw new Error(`a new run could not be ${input.type}d: ${change.reason}`);
        const outbox = this.outbox.rows(run.id, change.messages);
        // Queued while the project has a free slot (its group is full, or runs wait already): a pass
        // decides which of the queued runs go first.
        if (!fits && projectRunning < maxRunning) {
          outbox.push(...this.outbox.rows(run.id, [{ queue: 'admission', id: messageIds.admissionRequested(run.id, 1), contract: AdmissionRequested, data: { project: run.project } }]));
        }
        return { change, outbox, calls };
      });
      return {
        inserts: decided.map((d) => ({ next: d.change.next, ...(d.calls.length ? { calls: [...d.calls] } : {}) })),
        writes: [],
        outbox: decided.flatMap((d) => d.outbox),
        value: decided.map((d) => d.change),
      };
    });
    this.outbox.flush();
    this.afterCommit(changes);
    return changes.map((c) => c.next);
  }

  /**
   * Starts the project's queued runs that fit now; resolves, with how many started, once a pass
   * that began after this call has finished. Passes of one project take turns in this process:
   * a call during a pass asks for one more pass after it and shares its result, so a burst of
   * runs ending together costs a pass or two, not one each waiting on the project's lock with
   * a connection held (ADR 0014).
   */
  async pass(project: string, options: (snapshot: RunSnapshot) => DecideOptions): Promise<number> {
    const started = await this.turns.run(project, () => this.passOnce(project, options));
    return started.reduce((n, s) => n + s, 0);
  }

  private async passOnce(project: string, options: (snapshot: RunSnapshot) => DecideOptions): Promise<number> {
    const { maxRunning } = await this.settings.of(project);
    let started = 0;
    for (;;) {
      const changes = await this.store.locked(this.store.sql.admissionPass(project, CANDIDATES), async ([, counts, groups, queued], read) => {
        let free = maxRunning - Number(counts?.rows[0]?.running ?? 0);
        const running = new Map((groups?.rows ?? []).map((g) => [String(g.group), Number(g.running)]));
        const chosen: string[] = [];
        for (const candidate of queued?.rows ?? []) {
          if (free <= 0) break;
          const group = candidate.group === null ? null : String(candidate.group);
          const { compiled } = await this.compiler.cachedOrLoad(String(candidate.specHash));
          const max = compiled.concurrency?.max;
          if (group !== null && max !== undefined && (running.get(group) ?? 0) >= max) continue;
          chosen.push(String(candidate.id));
          free--;
          if (group !== null) running.set(group, (running.get(group) ?? 0) + 1);
        }
        if (!chosen.length) return { inserts: [], writes: [], outbox: [], value: [] as RunWrite[] };
        const [runRows, stepRows] = await read(this.store.selectForUpdate(chosen));
        const writes: RunWrite[] = [];
        const outbox = [];
        const now = new Date();
        for (const snapshot of snapshotsOf(runRows?.rows ?? [], stepRows?.rows ?? []).values()) {
          const { compiled } = await this.compiler.cachedOrLoad(snapshot.run.specHash);
          const change = decideRunChange(compiled, snapshot, { type: 'start' }, now, options(snapshot));
          if (!change.applied) continue; // cancelled meanwhile
          writes.push({ before: snapshot, next: change.next, run: change.run, steps: change.steps });
          outbox.push(...this.outbox.rows(snapshot.run.id, change.messages));
        }
        return { inserts: [], writes, outbox, value: writes };
      });
      if (!changes.length) return started;
      this.outbox.flush();
      this.afterCommit(changes);
      started += changes.length;
    }
  }

  /** What a committed change means for fair dispatch: steps dispatched at once or held, and slots freed. */
  afterCommit(changes: ReadonlyArray<Pick<RunWrite, 'next' | 'steps'> & { before?: RunWrite['before'] }>): void {
    for (const { before, next, steps } of changes) {
      const byPool = new Map<string, { held: Array<{ runId: string; stepId: string; project: string; priority: number }>; dispatched: number; finished: number }>();
      for (const [stepId, patch] of Object.entries(steps)) {
        const was = before?.steps[stepId]?.status;
        const sent = patch.status === 'dispatched' && was !== 'dispatched';
        const freed = was === 'dispatched' && patch.status !== undefined && patch.status !== 'dispatched';
        if (patch.status !== 'queued' && !sent && !freed) continue;
        const pool = this.compiler.cached(next.run.specHash)?.compiled.steps[stepId]?.pool;
        if (pool === undefined) continue;
        let entry = byPool.get(pool);
        if (!entry) byPool.set(pool, (entry = { held: [], dispatched: 0, finished: 0 }));
        if (patch.status === 'queued') entry.held.push({ runId: next.run.id, stepId, project: next.run.project, priority: next.run.priority });
        else if (sent) entry.dispatched++;
        else entry.finished++;
      }
      for (const [pool, entry] of byPool) {
        this.fair.held(pool, entry.held);
        this.fair.committed(pool, entry.dispatched, entry.finished);
      }
    }
  }

  /** On start: a pass for every project with queued runs, and the held steps taken up. */
  async onApplicationBootstrap(): Promise<void> {
    await this.adoptHeld().catch((err: unknown) => this.log.warn({ err }, 'held steps not taken up at start'));
    this.adopter = setInterval(() => void this.adoptHeld().catch((err: unknown) => this.log.warn({ err }, 'held steps not taken up')), ADOPT_EVERY_MS);
    this.adopter.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.adopter);
  }

  /** Projects with queued runs, for a pass each (by the caller, which knows the decide options). */
  async queuedProjects(): Promise<string[]> {
    const [found] = await this.store.query([this.store.sql.queuedProjects()]);
    return (found?.rows ?? []).map((r) => String(r.project));
  }

  private async adoptHeld(): Promise<void> {
    const [found] = await this.store.query([this.store.sql.heldSteps()]);
    const byPool = new Map<string, Array<{ runId: string; stepId: string; project: string; priority: number }>>();
    for (const row of found?.rows ?? []) {
      const { compiled } = await this.compiler.cachedOrLoad(String(row.specHash));
      const pool = compiled.steps[String(row.stepId)]?.pool;
      if (pool === undefined) continue;
      const list = byPool.get(pool) ?? [];
      list.push({ runId: String(row.runId), stepId: String(row.stepId), project: String(row.project), priority: Number(row.priority) });
      byPool.set(pool, list);
    }
    for (const [pool, steps] of byPool) this.fair.held(pool, steps);
  }
}
