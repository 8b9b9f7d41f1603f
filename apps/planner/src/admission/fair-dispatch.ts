import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { subjects } from '@trellis/contracts';
import type { NatsConnection } from '@trellis/messaging';
import { NATS } from '@trellis/runtime';
import { logger } from '@trellis/telemetry';
import { PLANNER_CONFIG, type PlannerConfig } from '../config';
import { FairQueue, type HeldStep } from './fair-queue';
import { ProjectSettingsService } from './project-settings.service';

/** Releases held steps: the planner applies a `release` input to each run (RunService). */
export type Releaser = (runId: string, stepIds: string[]) => Promise<void>;

/** How often the pools' queues are read while steps are held, or dispatched recently. */
const POLL_MS = 100;
/** A pool nothing was dispatched to for this long is no longer polled. */
const IDLE_POOL_MS = 60_000;

/** What the planner knows of one pool's work queue: the last read, and what it did since. */
interface PoolState {
  /** Messages no executor has pulled yet, at the last read. */
  pending: number;
  /** Messages executors were working on at the last read: the pool's capacity while it is saturated. */
  working: number;
  /** Steps this planner sent to the pool since the last read. */
  sentSince: number;
  /** Steps of the pool whose results this planner committed since the last read: each freed a slot. */
  finishedSince: number;
  /**
   * Steps whose results this planner committed in the interval before the last read: what the
   * pool gets through between two reads. The queue needs about that much to keep the executors
   * busy until the next release (at fast model calls most of a step's cycle is in the planner,
   * and `working` alone reads small).
   */
  finishedBefore: number;
  lastUsed: number;
}

/**
 * Weighted-fair dispatch across projects (ADR 0014). A pool's executors pull its work queue in
 * order; when they are all busy, what waits there is served first come, first served, so one
 * project's burst would delay every other project's steps behind it. The planner keeps that
 * queue short instead. Executors pull only for free slots, so a message not pulled yet means
 * the pool is saturated; the planner lets the queue hold twice what the executors are working on
 * (`num_ack_pending`, read with `num_pending` from the pool's consumer every 100 ms) or twice
 * what the pool finished between the last two reads, whichever is more, and at least
 * `PLANNER_DISPATCH_BACKLOG`. A step that becomes ready while the queue is that
 * long — or while steps of its pool are already held — is held (status `queued`, stored with
 * the change that made it ready) and released as slots free, in deficit-round-robin order across
 * projects (each project's weight per turn) and by priority then age within one. A newcomer's
 * step so waits about two steps' time for a slot, whatever another project has in flight.
 * Between reads the planner counts what it sent and the results it committed (each frees a
 * slot), and releases after each such commit, so a saturated pool never idles waiting for a read.
 * While the queue is short, steps go to the pool at once: holding costs nothing when nothing waits.
 *
 * Each planner holds the steps it decided to hold; on start, and every half minute, it takes
 * up what is held in the database (a planner that died leaves its held steps there). Two
 * planners releasing one step is harmless: the second release finds it dispatched.
 */
@Injectable()
export class FairDispatch implements OnApplicationShutdown {
  private readonly log = logger('admission.fair-dispatch');
  private readonly queues = new Map<string, FairQueue>();
  private readonly pools = new Map<string, PoolState>();
  private readonly minBacklog: number;
  private readonly enabled: boolean;
  private readonly consumerOf: (pool: string) => string;
  private readonly stream: string;
  private jsm: Promise<JetStreamManager> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private releaser: Releaser | undefined;
  private seq = 0;
  private busy = false;
  /** A release asked for while one was running: run again when it ends. */
  private again = false;

  constructor(
    @Inject(PLANNER_CONFIG) config: PlannerConfig,
    @Inject(NATS) private readonly nc: NatsConnection,
    private readonly settings: ProjectSettingsService,
  ) {
    this.minBacklog = config.PLANNER_DISPATCH_BACKLOG;
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
    const p = this.pools.get(pool);
    if (!p) {
      // First use: start watching the pool; until its queue is read, do not hold.
      this.pools.set(pool, { pending: 0, working: 0, sentSince: 0, finishedSince: 0, finishedBefore: 0, lastUsed: Date.now() });
      this.ensurePolling();
      return false;
    }
    p.lastUsed = Date.now();
    if ((this.queues.get(pool)?.size ?? 0) > 0) return true;
    return this.room(p) <= 0;
  }

  /**
   * After a commit: steps it dispatched at once count against the pool's queue until the next
   * read; steps whose results it applied freed their slots, so held steps may go.
   */
  committed(pool: string, dispatched: number, finished: number): void {
    const p = this.pools.get(pool);
    if (!p) return;
    p.sentSince += dispatched;
    p.finishedSince += finished;
    if (finished > 0 && (this.queues.get(pool)?.size ?? 0) > 0) void this.releaseAll();
  }

  /** After the commit that held them: the steps wait here for their turn. */
  held(pool: string, steps: Array<Omit<HeldStep, 'seq'>>): void {
    if (!steps.length) return;
    let queue = this.queues.get(pool);
    if (!queue) this.queues.set(pool, (queue = new FairQueue()));
    for (const step of steps) queue.add({ ...step, seq: this.seq++ });
    if (!this.pools.has(pool)) this.pools.set(pool, { pending: 0, working: 0, sentSince: 0, finishedSince: 0, finishedBefore: 0, lastUsed: Date.now() });
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

  /**
   * How many more steps the pool's queue takes now: its bound less what waits there by our count.
   * The bound is twice what the executors work on: a newcomer waits about two steps' time, and an
   * autoscaler reading the queue's lag (KEDA's NATS JetStream scaler, one replica per
   * `EXECUTOR_CONCURRENCY` waiting) still asks for twice the replicas there are while steps are
   * held — with a bound of one, it would see exactly the replicas it has, and never add one.
   * Or twice what finished in the last read interval, if more: with very fast model calls most of
   * a step's cycle is spent in the planner, `num_ack_pending` reads small, and a bound of twice it
   * held a burst in a slow lockstep (ADR 0014, amendment).
   */
  private room(p: PoolState): number {
    const waiting = Math.max(0, p.pending + p.sentSince - p.finishedSince);
    return Math.max(this.minBacklog, 2 * p.working, 2 * p.finishedBefore) - waiting;
  }

  private ensurePolling(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), POLL_MS);
    this.timer.unref();
  }

  /** Reads each pool's queue, then releases what fits, fairly. */
  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const now = Date.now();
      for (const [pool, p] of this.pools) {
        const held = this.queues.get(pool)?.size ?? 0;
        if (!held && now - p.lastUsed > IDLE_POOL_MS) {
          this.pools.delete(pool);
          continue;
        }
        const read = await this.readQueue(pool);
        Object.assign(p, read, { finishedBefore: p.finishedSince, sentSince: 0, finishedSince: 0 });
        if (held) await this.release(pool, p);
      }
      if (!this.pools.size) this.onApplicationShutdown();
    } catch (err) {
      this.log.warn({ err }, 'fair dispatch tick failed');
    } finally {
      this.busy = false;
    }
    if (this.again) {
      this.again = false;
      void this.releaseAll();
    }
  }

  /** Releases what fits in every pool with held steps, without a read (after results freed slots). */
  private async releaseAll(): Promise<void> {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    try {
      for (const [pool, p] of this.pools) if ((this.queues.get(pool)?.size ?? 0) > 0) await this.release(pool, p);
    } finally {
      this.busy = false;
    }
    if (this.again) {
      this.again = false;
      void this.releaseAll();
    }
  }

  private async release(pool: string, p: PoolState): Promise<void> {
    const queue = this.queues.get(pool);
    const room = this.room(p);
    if (!queue || room <= 0 || !this.releaser) return;
    const steps = queue.take(room, (project) => this.settings.weightOf(project));
    p.sentSince += steps.length;
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

  /** The pool's consumer: messages not pulled yet, and pulled but not acknowledged (0 while it has none). */
  private async readQueue(pool: string): Promise<{ pending: number; working: number }> {
    this.jsm ??= jetstreamManager(this.nc).catch((err: unknown) => {
      this.jsm = undefined;
      throw err;
    });
    try {
      const info = await (await this.jsm).consumers.info(this.stream, this.consumerOf(pool));
      return { pending: info.num_pending, working: info.num_ack_pending };
    } catch {
      return { pending: 0, working: 0 };
    }
  }
}
