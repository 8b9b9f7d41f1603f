import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Client } from 'pg';
import { subjects } from '@trellis/contracts';
import { Platform, findOrStartInfrastructure, hermeticEnv, type Infrastructure } from '@trellis/devstack';
import { deleteNamespace } from '@trellis/messaging';
import { dropDatabase, ensureDatabaseExists } from '@trellis/persistence';
import { ApiClient } from '@trellis/testing';
import { distribution, readSimulator } from './analysis';
import { BaselineRunner } from './baseline/baseline-runner';
import type { CaseResult, QueueFigures } from './case-result';
import type { BenchOptions } from './options';
import { cpuDelta, peakRssMiB, pidsByName, resetPeakRss, round, sampleCpu, type ProcessGroup } from './proc-stats';
import { SIMULATOR_RECORD_LIMIT, SimulatorProcess } from './simulator-process';
import { checkRecorded, TrellisRunner } from './trellis-runner';
import { pipelineSpec, QUEUE_WORKLOAD, WORKLOADS, type Workload } from './workloads';

export const ROOT_DIR = resolve(__dirname, '../../..');
const MODEL = 'gpt-4.1-mini';

export interface CaseSpec {
  name: string;
  kind: CaseResult['kind'];
  workload: Workload;
  runs: number;
  modelLatencyMs: number;
  /** Runs one after another instead of all at once (hand-off latency). */
  sequential?: boolean;
  /** The queue case: at most this many runs of the case's project run at once. */
  limit?: number;
}

/** The project the queue case submits to (its limit is the case's). */
const QUEUE_PROJECT = 'bench-queue';

/**
 * One bench run's world: a fresh database and NATS namespace, the simulator and every
 * service as their own processes, and the means to run a case on Trellis or on the baseline
 * and measure it.
 */
export class BenchSession {
  private tagSeq = 0;
  private readonly runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  private readonly databaseName: string;

  private constructor(
    private readonly options: BenchOptions,
    private readonly infra: Infrastructure,
    private readonly databaseUrl: string,
    readonly namespace: string,
    private readonly sim: SimulatorProcess,
    readonly platform: Platform,
    private readonly nc: NatsConnection,
    private readonly trellis: TrellisRunner,
    private readonly baseline: BaselineRunner,
    private readonly admin: ApiClient,
  ) {
    this.databaseName = new URL(databaseUrl).pathname.slice(1);
  }

  static async start(options: BenchOptions): Promise<BenchSession> {
    const token = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
    const infra = await findOrStartInfrastructure({ env: process.env, stateDir: resolve(ROOT_DIR, '.trellis'), database: `trellis_bench_${token}` });
    const databaseUrl = withDatabase(infra.databaseUrl, `trellis_bench_${token}`);
    await ensureDatabaseExists(databaseUrl);
    const namespace = `bench${token}`;
    const cleanups: Array<() => Promise<unknown>> = [() => dropDatabase(databaseUrl), () => infra.stop()];
    try {
      const sim = await SimulatorProcess.start(ROOT_DIR);
      cleanups.unshift(() => sim.stop());
      const apiKey = `bench-${token}`;
      const adminToken = `bench-admin-${randomBytes(12).toString('hex')}`;
      const platform = await Platform.start({
        rootDir: ROOT_DIR,
        // The shell's Trellis settings never change what is measured.
        inherit: hermeticEnv(process.env),
        databaseUrl,
        natsUrl: infra.natsUrl,
        namespace,
        apiKey,
        openaiBaseUrl: sim.url,
        openaiApiKey: sim.apiKey,
        executors: 1,
        logLevel: 'warn',
        echo: options.echo,
        env: {
          // The bench submits N runs at once: the per-project quota must not refuse them.
          GATEWAY_MAX_RUNNING_RUNS: '100000',
          // The queue case creates its own project, with its limit.
          TRELLIS_ADMIN_TOKEN: adminToken,
          ...options.serviceEnv,
          ...(options.cpuProfDir ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${resolve(options.cpuProfDir)}` } : {}),
        },
      });
      cleanups.unshift(() => platform.stop());
      const nc = await connect({ servers: infra.natsUrl, name: 'trellis-bench' });
      const api = new ApiClient(platform.gatewayUrl, apiKey);
      if (!options.recording) {
        const res = await new ApiClient(platform.gatewayUrl, adminToken).request('PATCH', '/v1/projects/default', { recording: false });
        if (res.status !== 200) throw new Error(`turning recording off answered ${res.status}: ${JSON.stringify(res.body)}`);
      }
      const trellis = new TrellisRunner(api, nc, namespace);
      trellis.start();
      for (const w of Object.values(WORKLOADS)) await trellis.register(w, pipelineSpec(w));
      const admin = new ApiClient(platform.gatewayUrl, adminToken);
      return new BenchSession(options, infra, databaseUrl, namespace, sim, platform, nc, trellis, new BaselineRunner(sim.url, sim.apiKey, MODEL), admin);
    } catch (err) {
      for (const c of cleanups) await c().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Runs each workload on both systems, unmeasured, in bursts of `runs` submitted at once,
   * `rounds` times: one burst of each left the first case measured still paying for the
   * services' JIT and heaps (bench/README.md, row 29).
   */
  async warmUp(runs: number, rounds: number): Promise<void> {
    if (!runs) return;
    await this.sim.setLatency(0);
    for (let round = 0; round < rounds; round++) {
      for (const w of Object.values(WORKLOADS)) {
        await this.trellis.runAll(w, this.tags(runs), this.options.caseTimeoutMs);
        await this.baseline.runAll(w, this.tags(runs));
      }
    }
  }

  /** Stops every executor and starts `count` new ones with a fixed concurrency (scaling cases). */
  async setExecutors(count: number, concurrency: number): Promise<void> {
    const executors = [...this.platform.processes.values()].filter((p) => p.name.startsWith('executor') && p.running);
    const fitting = executors.filter((p) => p.options.env.EXECUTOR_CONCURRENCY === String(concurrency));
    for (const p of executors) if (!fitting.includes(p)) await p.stop();
    for (let i = fitting.length; i < count; i++) await this.platform.addExecutor({ EXECUTOR_CONCURRENCY: String(concurrency) });
    for (const p of fitting.slice(count)) await p.stop();
  }

  /**
   * The queue case on Trellis: a project whose limit of running runs is the case's, the
   * workload registered there, every run submitted at once.
   */
  async runTrellisQueue(spec: CaseSpec): Promise<CaseResult> {
    const limit = spec.limit!;
    const existing = await this.admin.get(`/v1/projects/${QUEUE_PROJECT}`);
    const settings = { maxRunningRuns: limit };
    const saved = existing.status === 404 ? await this.admin.post('/v1/projects', { id: QUEUE_PROJECT, ...settings }) : await this.admin.request('PATCH', `/v1/projects/${QUEUE_PROJECT}`, settings);
    if (saved.status >= 300) throw new Error(`the queue case's project: ${saved.status} ${JSON.stringify(saved.body)}`);
    const key = await this.admin.post<{ key: string }>(`/v1/projects/${QUEUE_PROJECT}/keys`, {});
    if (key.status !== 201) throw new Error(`the queue case's key: ${key.status} ${JSON.stringify(key.body)}`);
    const runner = new TrellisRunner(new ApiClient(this.platform.gatewayUrl, key.body.key), this.nc, this.namespace);
    runner.start();
    try {
      if (existing.status === 404) await runner.register(spec.workload, pipelineSpec(spec.workload));
      return await this.runTrellis(spec, {}, runner);
    } finally {
      runner.stop();
    }
  }

  async runTrellis(spec: CaseSpec, extra: Pick<CaseResult, 'executors' | 'executorConcurrency'> = {}, runner = this.trellis): Promise<CaseResult> {
    const tags = this.tags(spec.runs);
    const groups = this.processGroups(false);
    const measured = await this.measure(spec, groups, async () => {
      const all: Awaited<ReturnType<TrellisRunner['runAll']>> = { finished: [], problems: [] };
      const batches = spec.sequential ? tags.map((t) => [t]) : [tags];
      for (const batch of batches) {
        const out = await runner.runAll(spec.workload, batch, this.options.caseTimeoutMs);
        all.finished.push(...out.finished);
        all.problems.push(...out.problems);
      }
      return all;
    });
    const { finished, problems } = measured.value;
    const eventsBytes = (await this.eventsBytes()) - measured.eventsBytesBefore;
    const recorded = await runner.readBack(finished);
    problems.push(...checkRecorded(recorded, spec.workload));
    const seen = readSimulator(await this.sim.requests(), spec.workload, tags);
    problems.push(...seen.problems);
    // Only durably recorded successful steps count.
    const steps = recorded.reduce((n, r) => n + r.view.steps.filter((s) => s.status === 'succeeded').length, 0);
    const wallMs = spec.sequential ? measured.elapsedMs : Math.max(...finished.map((f) => f.completedAt)) - Math.min(...finished.map((f) => f.submittedAt));
    const answerToDispatch: number[] = [];
    const dispatchToRequest: number[] = [];
    for (const run of recorded) {
      for (const step of run.view.steps) {
        const deps = spec.workload.dependsOn[step.id] ?? [];
        const request = seen.byStep.get(`${run.tag}/${step.id}`)?.[0];
        const answered = deps.map((d) => seen.byStep.get(`${run.tag}/${d}`)?.[0]?.respondedAt);
        if (!deps.length || !request || !step.dispatchedAt || !answered.every((t): t is number => typeof t === 'number')) continue;
        const dispatchedAt = Date.parse(step.dispatchedAt);
        answerToDispatch.push(dispatchedAt - Math.max(...answered));
        dispatchToRequest.push(request.receivedAt - dispatchedAt);
      }
    }
    const rows = await this.rowBytes(finished.map((f) => f.runId));
    return this.result(spec, 'trellis', {
      ...extra,
      ...(steps ? { bytesPerStep: { stepCall: Math.round(rows.stepCall / steps), stepRun: Math.round(rows.stepRun / steps), events: Math.round(eventsBytes / steps) } } : {}),
      steps,
      wallMs,
      runLatencies: finished.map((f) => f.completedAt - f.submittedAt),
      handoffs: seen.handoffsMs,
      cpu: measured.cpu,
      rss: measured.rss,
      problems,
      ...(spec.kind === 'handoff' ? { handoffSplitMs: { answerToDispatch: distribution(answerToDispatch), dispatchToRequest: distribution(dispatchToRequest) } } : {}),
      ...(spec.limit !== undefined
        ? {
            queue: queueFigures(
              spec.limit,
              // Queue order is run-id order (the planner's ids are time-ordered): the spans in it, on the planner's clock.
              [...recorded]
                .sort((a, b) => (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0))
                .map(({ view }) => ({ submittedMs: Date.parse(view.createdAt), startedMs: Date.parse(view.startedAt ?? view.createdAt), finishedMs: Date.parse(view.finishedAt ?? view.createdAt) })),
            ),
          }
        : {}),
    });
  }

  async runBaseline(spec: CaseSpec): Promise<CaseResult> {
    const tags = this.tags(spec.runs);
    const groups = this.processGroups(true);
    const problems: string[] = [];
    let queue: QueueFigures | undefined;
    const measured = await this.measure(spec, groups, async () => {
      if (spec.limit !== undefined) {
        const spans = await this.baseline.runAllLimited(spec.workload, tags, spec.limit);
        queue = queueFigures(spec.limit, spans.map((s) => ({ submittedMs: 0, ...s })));
        return spans.map((s) => s.finishedMs);
      }
      if (!spec.sequential) return this.baseline.runAll(spec.workload, tags);
      const latencies: number[] = [];
      for (const tag of tags) latencies.push(await this.baseline.run(spec.workload, tag));
      return latencies;
    });
    const seen = readSimulator(await this.sim.requests(), spec.workload, tags);
    problems.push(...seen.problems);
    return this.result(spec, 'baseline', {
      steps: spec.runs * spec.workload.steps.length,
      wallMs: measured.elapsedMs,
      runLatencies: measured.value,
      handoffs: seen.handoffsMs,
      cpu: measured.cpu,
      rss: {},
      problems,
      ...(queue ? { queue } : {}),
    });
  }

  async stop(): Promise<void> {
    this.trellis.stop();
    await this.nc.close().catch(() => undefined);
    await this.platform.stop();
    await this.sim.stop();
    const cleanup = await connect({ servers: this.infra.natsUrl, name: 'trellis-bench-cleanup' });
    await deleteNamespace(cleanup, this.namespace).catch(() => undefined);
    await cleanup.close();
    await dropDatabase(this.databaseUrl).catch(() => undefined);
    await this.infra.stop();
  }

  /** Unique run tags: they start every prompt, so the simulator's records say whose a request was. */
  private tags(count: number): string[] {
    return Array.from({ length: count }, () => `r${this.runId}-${(this.tagSeq++).toString(36)}`);
  }

  private async measure<T>(spec: CaseSpec, groups: ProcessGroup[], work: () => Promise<T>) {
    if (spec.runs * spec.workload.steps.length > SIMULATOR_RECORD_LIMIT) {
      throw new Error(`${spec.name}: ${spec.runs * spec.workload.steps.length} model calls exceed the ${SIMULATOR_RECORD_LIMIT} requests the simulator records`);
    }
    await this.sim.setLatency(spec.modelLatencyMs);
    await this.sim.clearRequests();
    const services = this.services();
    for (const p of services) if (p.pid) resetPeakRss(p.pid);
    const eventsBytesBefore = await this.eventsBytes();
    const before = sampleCpu(groups);
    const startedAt = performance.now();
    const value = await work();
    const elapsedMs = performance.now() - startedAt;
    const cpu = cpuDelta(before, sampleCpu(groups));
    const rss: Record<string, number> = {};
    for (const p of services) {
      const peak = p.pid ? peakRssMiB(p.pid) : undefined;
      if (peak !== undefined) rss[p.name] = round(peak);
    }
    return { value, elapsedMs, cpu, rss, eventsBytesBefore };
  }

  /** Bytes the events stream holds now. */
  private async eventsBytes(): Promise<number> {
    const jsm = await jetstreamManager(this.nc);
    return (await jsm.streams.info(subjects(this.namespace).streams.events)).state.bytes;
  }

  /** Bytes of the rows these runs' steps and recorded calls take (`pg_column_size` of each row). */
  private async rowBytes(runIds: string[]): Promise<{ stepCall: number; stepRun: number }> {
    const sql = new Client({ connectionString: this.databaseUrl });
    await sql.connect();
    try {
      const { rows } = await sql.query<{ step_call: string | null; step_run: string | null }>(
        `select (select sum(pg_column_size(c.*)) from "planner"."step_call" c where c."run_id" = any($1)) as step_call,
                (select sum(pg_column_size(s.*)) from "planner"."step_run" s where s."run_id" = any($1)) as step_run`,
        [runIds],
      );
      return { stepCall: Number(rows[0]?.step_call ?? 0), stepRun: Number(rows[0]?.step_run ?? 0) };
    } finally {
      await sql.end();
    }
  }

  private services() {
    return [...this.platform.processes.values()].filter((p) => p.running);
  }

  /** The processes whose CPU a case reads: the running services, PostgreSQL, NATS, the simulator, the bench itself. */
  private processGroups(baseline: boolean): ProcessGroup[] {
    const groups: ProcessGroup[] = baseline
      ? []
      : [
          ...this.services().map((p) => ({ name: p.name, pids: () => (p.pid ? [p.pid] : []) })),
          // The backends serving this bench's database: other databases on a shared server are not ours.
          { name: 'postgres', pids: () => pidsByName('postgres', ` ${this.databaseName} `) },
          { name: 'nats', pids: () => pidsByName('nats-server') },
        ];
    groups.push({ name: 'simulator', pids: () => (this.sim.pid ? [this.sim.pid] : []) });
    groups.push({ name: baseline ? 'baseline' : 'bench client', pids: () => [process.pid] });
    return groups;
  }

  private result(
    spec: CaseSpec,
    system: CaseResult['system'],
    m: Pick<CaseResult, 'executors' | 'executorConcurrency' | 'handoffSplitMs' | 'bytesPerStep' | 'queue' | 'steps' | 'wallMs' | 'problems'> & {
      runLatencies: number[];
      handoffs: number[];
      cpu: Record<string, number>;
      rss: Record<string, number>;
    },
  ): CaseResult {
    const per1000 = (s: number) => (m.steps ? round((s / m.steps) * 1000, 3) : 0);
    const cpuSecondsPer1000Steps = Object.fromEntries(Object.entries(m.cpu).map(([k, v]) => [k, per1000(v)]));
    // The client that submits and watches runs is not Trellis's cost; the baseline's process is its whole cost.
    const total = Object.entries(m.cpu).reduce((n, [k, v]) => (k === 'bench client' ? n : n + v), 0);
    return {
      name: spec.name,
      kind: spec.kind,
      system,
      workload: spec.workload.id,
      runs: spec.runs,
      modelLatencyMs: spec.modelLatencyMs,
      ...(m.executors !== undefined ? { executors: m.executors, executorConcurrency: m.executorConcurrency } : {}),
      steps: m.steps,
      wallMs: round(m.wallMs, 1),
      runsPerSecond: m.wallMs ? round((spec.runs / m.wallMs) * 1000, 2) : 0,
      stepsPerSecond: m.wallMs ? round((m.steps / m.wallMs) * 1000, 1) : 0,
      runLatencyMs: distribution(m.runLatencies, 1),
      handoffMs: distribution(m.handoffs, 2),
      ...(m.handoffSplitMs ? { handoffSplitMs: m.handoffSplitMs } : {}),
      ...(m.bytesPerStep ? { bytesPerStep: m.bytesPerStep } : {}),
      cpuSecondsPer1000Steps,
      cpuTotalPer1000Steps: per1000(total),
      peakRssMiB: m.rss,
      ...(m.queue ? { queue: m.queue } : {}),
      problems: m.problems,
    };
  }
}

/** The queue's figures from each run's submission, start and end, in queue order. */
export function queueFigures(limit: number, spans: ReadonlyArray<{ submittedMs: number; startedMs: number; finishedMs: number }>): QueueFigures {
  // An end before a start at the same instant: a slot freed, then taken.
  const edges = spans.flatMap((s) => [
    { t: s.startedMs, d: 1 },
    { t: s.finishedMs, d: -1 },
  ]);
  edges.sort((a, b) => a.t - b.t || a.d - b.d);
  let running = 0;
  let maxRunning = 0;
  for (const e of edges) maxRunning = Math.max(maxRunning, (running += e.d));
  let latestStart = -Infinity;
  let startedOutOfOrder = 0;
  for (const s of spans) {
    if (s.startedMs < latestStart) startedOutOfOrder++;
    latestStart = Math.max(latestStart, s.startedMs);
  }
  return { limit, maxRunning, startedOutOfOrder, waitMs: distribution(spans.map((s) => s.startedMs - s.submittedMs), 1) };
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
