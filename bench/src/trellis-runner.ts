import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { subjects, type RunView } from '@trellis/contracts';
import type { ApiClient } from '@trellis/testing';
import type { Workload } from './workloads';

/** One run as the bench saw it: when it asked, when it heard the run finish, what was recorded. */
export interface TrellisRun {
  tag: string;
  runId: string;
  /** ms, `performance.now()` of the bench, before the POST. */
  submittedAt: number;
  /** ms, when the bench received the run's `run.completed` event (published after commit). */
  completedAt: number;
  /** The final state read back through the gateway. */
  view: RunView;
}

/**
 * Submits runs through the gateway as a client would, learns that each finished from its
 * `run.completed` event (a core NATS subscription: nothing is polled while the clock runs),
 * then reads every run's final state back through the gateway: a step counts only once it
 * is durably recorded.
 */
export class TrellisRunner {
  private readonly completed = new Map<string, { at: number; status: string }>();
  private readonly waiters = new Map<string, () => void>();
  private subscription: Subscription | undefined;

  constructor(
    private readonly api: ApiClient,
    private readonly nc: NatsConnection,
    private readonly namespace: string,
  ) {}

  start(): void {
    this.subscription = this.nc.subscribe(subjects(this.namespace).eventsOfType('run', 'completed'), {
      callback: (err, msg) => {
        if (err) return;
        const at = performance.now();
        const event = msg.json<{ data: { runId: string; status: string } }>();
        this.completed.set(event.data.runId, { at, status: event.data.status });
        this.waiters.get(event.data.runId)?.();
      },
    });
  }

  stop(): void {
    this.subscription?.unsubscribe();
  }

  async register(workload: Workload, spec: string): Promise<void> {
    const res = await this.api.post('/v1/pipelines', spec, { contentType: 'application/yaml' });
    if (res.status !== 201) throw new Error(`registering ${workload.pipeline} answered ${res.status}: ${JSON.stringify(res.body)}`);
  }

  /**
   * Submits one run per tag at once and waits until every one has finished (or `timeoutMs`
   * passed: the runs missing are reported, not waited for). Reading back happens after.
   */
  async runAll(workload: Workload, tags: readonly string[], timeoutMs: number): Promise<{ finished: Array<Omit<TrellisRun, 'view'>>; problems: string[] }> {
    const problems: string[] = [];
    const deadline = performance.now() + timeoutMs;
    const outcomes = await Promise.all(
      tags.map(async (tag) => {
        const submittedAt = performance.now();
        const res = await this.api.post<RunView>('/v1/runs', { pipeline: workload.pipeline, inputs: { tag } });
        if (res.status !== 202) {
          problems.push(`${tag}: starting the run answered ${res.status}: ${JSON.stringify(res.body).slice(0, 200)}`);
          return undefined;
        }
        const runId = res.body.id;
        const done = await this.completion(runId, deadline - performance.now());
        if (!done) {
          problems.push(`${tag} (${runId}): not heard finishing within ${timeoutMs} ms; ${await this.describe(runId)}`);
          return undefined;
        }
        if (done.status !== 'succeeded') problems.push(`${tag} (${runId}): finished ${done.status}`);
        return { tag, runId, submittedAt, completedAt: done.at };
      }),
    );
    return { finished: outcomes.filter((o) => o !== undefined), problems };
  }

  /** Reads each run's final state through the gateway, a few at a time. */
  async readBack(runs: ReadonlyArray<Omit<TrellisRun, 'view'>>): Promise<TrellisRun[]> {
    const out: TrellisRun[] = [];
    const queue = [...runs];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let run = queue.shift(); run; run = queue.shift()) {
          const res = await this.api.get<RunView>(`/v1/runs/${run.runId}`);
          if (res.status !== 200) throw new Error(`reading run ${run.runId} answered ${res.status}`);
          out.push({ ...run, view: res.body });
        }
      }),
    );
    return out;
  }

  /** What the gateway says of a run the bench did not hear finish: lost event, or stuck run (and where). */
  private async describe(runId: string): Promise<string> {
    const res = await this.api.get<RunView>(`/v1/runs/${runId}`).catch((err: unknown) => ({ status: 0, body: String(err) }));
    if (res.status !== 200 || typeof res.body !== 'object') return `reading it answered ${res.status}`;
    const view = res.body as RunView;
    if (view.finishedAt) return `recorded ${view.status} at ${view.finishedAt}: its run.completed event never reached the bench`;
    const open = view.steps.filter((s) => !['succeeded', 'failed', 'skipped', 'cancelled'].includes(s.status));
    return `recorded ${view.status}, steps not done: ${open.map((s) => `${s.id} ${s.status} attempt ${s.attempt}${s.dispatchedAt ? ` dispatched ${s.dispatchedAt}` : ''}`).join(', ')}`;
  }

  private completion(runId: string, timeoutMs: number): Promise<{ at: number; status: string } | undefined> {
    const known = this.completed.get(runId);
    if (known) return Promise.resolve(known);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(runId);
        resolve(undefined);
      }, Math.max(0, timeoutMs));
      this.waiters.set(runId, () => {
        clearTimeout(timer);
        this.waiters.delete(runId);
        resolve(this.completed.get(runId));
      });
    });
  }
}

/** Problems in what was durably recorded: a run not succeeded, a step missing, failed or run twice. */
export function checkRecorded(runs: readonly TrellisRun[], workload: Workload): string[] {
  const problems: string[] = [];
  for (const { tag, view } of runs) {
    if (view.status !== 'succeeded') problems.push(`${tag}: recorded as ${view.status}`);
    const ids = view.steps.map((s) => s.id).sort();
    if (JSON.stringify(ids) !== JSON.stringify([...workload.steps].sort())) problems.push(`${tag}: recorded steps ${ids.join(',')}`);
    for (const step of view.steps) {
      if (step.status !== 'succeeded' || step.attempt !== 1 || step.output === null) {
        problems.push(`${tag}/${step.id}: recorded ${step.status}, attempt ${step.attempt}${step.output === null ? ', no output' : ''}`);
      }
    }
  }
  return problems;
}
