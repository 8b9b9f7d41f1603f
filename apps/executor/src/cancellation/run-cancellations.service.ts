import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { RunCompleted, subjects } from '@trellis/contracts';
import { decodeEvent, type NatsConnection } from '@trellis/messaging';
import { NATS } from '@trellis/runtime';
import { logger } from '@trellis/telemetry';
import { EXECUTOR_CONFIG, type ExecutorConfig } from '../config';

/** Runs that ended remembered, so a job dispatched before its run ended but pulled after is dropped. */
const REMEMBERED_RUNS = 10_000;
const contracts = new Map([[RunCompleted.type, RunCompleted]]);

/** A job's membership in its run's cancellation: abort when the run ends unsuccessfully. */
export interface RunScope {
  /** Aborts when the run ends cancelled or failed, or when the signal given to `enter` aborts. */
  readonly signal: AbortSignal;
  /** True when the run was cancelled or failed (the job should be acked without a result). */
  readonly ended: boolean;
  release(): void;
}

/** One job in flight: its signal's controller, when it was dispatched, whether its run ended. */
interface Member {
  controller: AbortController;
  dispatchedAt: number;
  ended: boolean;
}

/**
 * Aborts the model calls and tools of runs that end cancelled or failed. Listens to
 * `run.completed` with a plain (core NATS) subscription: every replica must hear every
 * ending, and one missed while disconnected only costs a call whose result the planner
 * ignores anyway.
 */
@Injectable()
export class RunCancellationsService implements OnApplicationBootstrap, OnApplicationShutdown {
  /** Run id → its jobs in flight. */
  private readonly inFlight = new Map<string, Set<Member>>();
  /** Run id → when it ended (the event's time, epoch ms). */
  private readonly ended = new Map<string, number>();
  private readonly log = logger('executor.cancellation');
  private sub: ReturnType<NatsConnection['subscribe']> | undefined;

  constructor(
    @Inject(EXECUTOR_CONFIG) private readonly config: ExecutorConfig,
    @Inject(NATS) private readonly nc: NatsConnection,
  ) {}

  onApplicationBootstrap(): void {
    this.sub = this.nc.subscribe(subjects(this.config.TRELLIS_NAMESPACE).eventsOfType('run', 'completed'), {
      callback: (err, msg) => {
        if (err) return;
        const decoded = decodeEvent(msg.data, contracts);
        if (!decoded.ok) return;
        const { runId, status } = decoded.data;
        if (status === 'cancelled' || status === 'failed') this.end(runId, status, Date.parse(decoded.envelope.time));
      },
    });
  }

  onApplicationShutdown(): void {
    this.sub?.unsubscribe();
  }

  /**
   * Joins a job to its run; `signal` aborts when the run ends cancelled or failed, and when
   * `also` (the delivery's own signal) aborts. A job dispatched (`dispatchedAt`, its event's
   * time) after the run ended belongs to a resumed run and runs.
   *
   * One controller per job, linked by a listener: `AbortSignal.any` would tie the two with weak
   * references the garbage collector must trace, at every step (bench/README.md, row 27).
   */
  enter(runId: string, dispatchedAt: number, also?: AbortSignal): RunScope {
    const member: Member = { controller: new AbortController(), dispatchedAt, ended: false };
    const endedAt = this.ended.get(runId);
    if (endedAt !== undefined && !(dispatchedAt > endedAt)) {
      member.ended = true;
      member.controller.abort(new Error(`run ${runId} ended`));
    }
    const follow = () => member.controller.abort(also!.reason);
    if (also?.aborted) follow();
    else also?.addEventListener('abort', follow, { once: true });
    let set = this.inFlight.get(runId);
    if (!set) this.inFlight.set(runId, (set = new Set()));
    set.add(member);
    return {
      signal: member.controller.signal,
      get ended() {
        return member.ended;
      },
      release: () => {
        also?.removeEventListener('abort', follow);
        set.delete(member);
        if (!set.size) this.inFlight.delete(runId);
      },
    };
  }

  private end(runId: string, status: string, at: number): void {
    this.ended.delete(runId);
    this.ended.set(runId, Number.isNaN(at) ? Date.now() : at);
    if (this.ended.size > REMEMBERED_RUNS) this.ended.delete(this.ended.keys().next().value!);
    const jobs = this.inFlight.get(runId);
    if (!jobs?.size) return;
    // Only jobs dispatched before this ending: a late or republished ending of a run that was
    // resumed since must not abort the resumed run's steps.
    const ending = this.ended.get(runId)!;
    const doomed = [...jobs].filter((m) => !(m.dispatchedAt > ending));
    if (!doomed.length) return;
    this.log.info({ runId, status, jobs: doomed.length }, 'run ended; aborting its steps in flight');
    for (const m of doomed) {
      m.ended = true;
      m.controller.abort(new Error(`run ${runId} ${status}`));
    }
  }
}
