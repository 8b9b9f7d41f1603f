import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { admits, decideRunChange, estimatedWaitMs, type DecideOptions, type RunSnapshot } from '@trellis/engine';
import { messageIds, AdmissionRequested } from '@trellis/contracts';
import { logger } from '@trellis/telemetry';
import { PLANNER_CONFIG, type PlannerConfig } from '../config';
import { CompiledPipelines } from '../pipelines/compiled-pipelines';
import { EventOutbox } from '../platform/event-outbox';
import { RunStore, type RunWrite } from '../runs/run-store';
import { snapshotsOf } from '../runs/run-table';
import { FairDispatch } from './fair-dispatch';
import { ProjectSettingsService } from './project-settings';

/** Queued runs considered per admission pass (a pass repeats while it starts some). */
const CANDIDATES = 200;
/** How often a planner takes up steps held in the database that no planner holds in memory. */
const ADOPT_EVERY_MS = 30_000;

/**
 * Admission (ADR 0013): a run starts at once when its project has a free slot
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

  /** A new run: started now if it fits, else queued at its place. Returns the run as committed. */
  async admitNew(fresh: RunSnapshot, options: (snapshot: RunSnapshot) => DecideOptions): Promise<RunSnapshot> {
    const { run } = fresh;
    const { compiled } = await this.compiler.cachedOrLoad(run.specHash);
    const { maxRunning } = await this.settings.of(run.project);
    const committed = await this.store.locked(this.store.sql.admissionCounts(run.project, run.pipeline, run.concurrencyKey, run.priority), async ([, counts, queue, duration]) => {
      const running = Number(counts?.rows[0]?.running ?? 0);
      const groupRunning = Number(counts?.rows[0]?.groupRunning ?? 0);
      const ahead = Number(queue?.rows[0]?.ahead ?? 0);
      const meanMs = duration?.rows[0]?.meanMs;
      const limits = { maxRunning, ...(compiled.concurrency ? { groupMax: compiled.concurrency.max } : {}) };
      const fits = ahead === 0 && admits(limits, { project: running, group: groupRunning });
      const input = fits
        ? ({ type: 'start' } as const)
        : ({ type: 'queue', position: ahead + 1, estimatedWaitMs: estimatedWaitMs(ahead + 1, maxRunning, meanMs === null || meanMs === undefined ? null : Number(meanMs)) } as const);
      const change = decideRunChange(compiled, fresh, input, new Date(), options(fresh));
      if (!change.applied) throw new Error(`a new run could not be ${input.type}d: ${change.reason}`);
      const outbox = this.outbox.rows(run.id, change.messages);
      // Queued while the project has a free slot (its group is full, or runs wait already): a pass
      // decides which of the queued runs go first.
      if (!fits && running < maxRunning) {
        outbox.push(...this.outbox.rows(run.id, [{ queue: 'admission', id: messageIds.admissionRequested(run.id, 1), contract: AdmissionRequested, data: { project: run.project } }]));
      }
      return { inserts: [change.next], writes: [], outbox, value: change };
    });
    this.outbox.flush();
    this.afterCommit([committed]);
    return committed.next;
  }

  /** Starts the project's queued runs that fit now; returns how many started. */
  async pass(project: string, options: (snapshot: RunSnapshot) => DecideOptions): Promise<number> {
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

  /** What a committed change means for fair dispatch: steps dispatched at once, or held. */
  afterCommit(changes: ReadonlyArray<Pick<RunWrite, 'next' | 'steps'>>): void {
    for (const { next, steps } of changes) {
      const byPool = new Map<string, { held: Array<{ runId: string; stepId: string; project: string; priority: number }>; dispatched: number }>();
      for (const [stepId, patch] of Object.entries(steps)) {
        if (patch.status !== 'queued' && patch.status !== 'dispatched') continue;
        const pool = this.compiler.cached(next.run.specHash)?.compiled.steps[stepId]?.pool;
        if (pool === undefined) continue;
        let entry = byPool.get(pool);
        if (!entry) byPool.set(pool, (entry = { held: [], dispatched: 0 }));
        if (patch.status === 'queued') entry.held.push({ runId: next.run.id, stepId, project: next.run.project, priority: next.run.priority });
        else entry.dispatched++;
      }
      for (const [pool, entry] of byPool) {
        this.fair.held(pool, entry.held);
        this.fair.dispatched(pool, entry.dispatched);
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
