import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { subjects } from '@trellis/contracts';
import type { NatsConnection } from '@trellis/messaging';
import { NATS } from '@trellis/runtime';
import { logger } from '@trellis/telemetry';
import { PLANNER_CONFIG, type PlannerConfig } from '../config';
import { FairQueue, type HeldStep } from './fair-queue';
import { ProjectSettingsService } from './project-settings';

/** Releases held steps: the planner applies a `release` input to each run (RunService). */
export type Releaser = (runId: string, stepIds: string[]) => Promise<void>;

/** How often the pools' backlogs are read while steps are held, or dispatched recently. */
const POLL_MS = 100;
/** A pool nothing was dispatched to for this long is no longer polled. */
const IDLE_POOL_MS = 60_000;

/**
 * Weighted-fair dispatch across projects (ADR 0013). A pool's executors pull its work queue in
 * order; when they are busy, what waits there is served first come, first served, so one
 * project's burst would delay every other project's steps behind it. The planner keeps that
 * queue short instead: a step that becomes ready while its pool's backlog (messages its
 * executors have not pulled yet, read from the consumer every 100 ms) is at
 * `PLANNER_DISPATCH_BACKLOG` — or while steps of the pool are already held — is held (status
 * `queued`, stored with the change that made it ready) and released as the backlog drains, in
 * deficit-round-robin order across projects (each project's weight per turn) and by priority
 * within one. While the backlog is short, steps go to the pool at once: holding costs nothing
 * when nothing waits.
 *
 * Each planner holds the steps it decided to hold; on start, and every half minute, it takes
 * up what is held in the database (a planner that died leaves its held steps there). Two
 * planners releasing one step is harmless: the second release finds it dispatched.
 */
@Injectable()
export class FairDispatch implements OnApplicationShutdown {
  private readonly log = logger('admission.fair-dispatch');
  private readonly queues = new Map<string, FairQueue>();
  /** Per pool: the backlog last read, minus nothing, plus what was released since. */
  private readonly backlog = new Map<string, { pending: number; releasedSince: number; lastUsed: number }>();
  private readonly threshold: number;
  private readonly enabled: boolean;
  private readonly consumerOf: (pool: string) => string;
  private readonly stream: string;
  private jsm: Promise<JetStreamManager> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private releaser: Releaser | undefined;
  private seq = 0;
  private releasing = false;

  constructor(
    @Inject(PLANNER_CONFIG) config: PlannerConfig,
    @Inject(NATS) private readonly nc: NatsConnection,
    private readonly settings: ProjectSettingsService,
  ) {
    this.threshold = config.PLANNER_DISPATCH_BACKLOG;
    this.enabled = config.PLANNER_DISPATCH_BACKLOG > 0;
    const s = subjects(config.TRELLIS_NAMESPACE);
    this.stream = s.streams.work;
    this.consumerOf = (pool) => s.durable('executor', pool);
  }

  /** Registered once by the service that applies releases. */
  onRelease(releaser: Releaser): void {
    this.releaser = releaser;
  }

  /** Whether a step of `pool` that becomes ready now waits for a slot. */
  hold(pool: string): boolean {
    if (!this.enabled) return false;
    const b = this.backlog.get(pool);
    if (!b) {
      // First use: start watching the pool; until its backlog is read, do not hold.
      this.backlog.set(pool, { pending: 0, releasedSince: 0, lastUsed: Date.now() });
      this.ensurePolling();
      return false;
    }
    b.lastUsed = Date.now();
    if ((this.queues.get(pool)?.size ?? 0) > 0) return true;
    return b.pending + b.releasedSince >= this.threshold;
  }

  /** After a commit that dispatched steps at once: they count against the backlog until the next read. */
  dispatched(pool: string, count: number): void {
    const b = this.backlog.get(pool);
    if (b) b.releasedSince += count;
  }

  /** After the commit that held them: the steps wait here for their turn. */
  held(pool: string, steps: Array<Omit<HeldStep, 'seq'>>): void {
    if (!steps.length) return;
    let queue = this.queues.get(pool);
    if (!queue) this.queues.set(pool, (queue = new FairQueue()));
    for (const step of steps) queue.add({ ...step, seq: this.seq++ });
    this.ensurePolling();
  }

  /** How many steps are held now, per pool (for the run view and the bench). */
  heldCount(pool?: string): number {
    if (pool !== undefined) return this.queues.get(pool)?.size ?? 0;
    let n = 0;
    for (const q of this.queues.values()) n += q.size;
    return n;
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private ensurePolling(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), POLL_MS);
    this.timer.unref();
  }

  /** Reads each pool's backlog, then releases what fits, fairly. */
  private async tick(): Promise<void> {
    if (this.releasing) return;
    this.releasing = true;
    try {
      const now = Date.now();
      for (const [pool, b] of this.backlog) {
        const held = this.queues.get(pool)?.size ?? 0;
        if (!held && now - b.lastUsed > IDLE_POOL_MS) {
          this.backlog.delete(pool);
          continue;
        }
        b.pending = await this.pendingOf(pool);
        b.releasedSince = 0;
        if (held) await this.release(pool, b);
      }
      if (!this.backlog.size) this.onApplicationShutdown();
    } catch (err) {
      this.log.warn({ err }, 'fair dispatch tick failed');
    } finally {
      this.releasing = false;
    }
  }

  private async release(pool: string, b: { pending: number; releasedSince: number }): Promise<void> {
    const queue = this.queues.get(pool);
    const room = this.threshold - b.pending - b.releasedSince;
    if (!queue || room <= 0 || !this.releaser) return;
    const steps = queue.take(room, (project) => this.settings.weightOf(project));
    b.releasedSince += steps.length;
    const byRun = new Map<string, string[]>();
    for (const s of steps) byRun.set(s.runId, [...(byRun.get(s.runId) ?? []), s.stepId]);
    const releaser = this.releaser;
    await Promise.all(
      [...byRun].map(([runId, stepIds]) =>
        releaser(runId, stepIds).catch((err: unknown) => {
          // Not lost: the steps stay held in the database, and the next sweep takes them up.
          this.log.warn({ err, runId, stepIds }, 'release failed');
        }),
      ),
    );
  }

  /** Messages of the pool's work queue its executors have not pulled yet (0 while it has no consumer). */
  private async pendingOf(pool: string): Promise<number> {
    this.jsm ??= jetstreamManager(this.nc).catch((err: unknown) => {
      this.jsm = undefined;
      throw err;
    });
    try {
      const info = await (await this.jsm).consumers.info(this.stream, this.consumerOf(pool));
      return info.num_pending;
    } catch {
      return 0;
    }
  }
}
