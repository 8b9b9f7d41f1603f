import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager, type ConsumerInfo } from '@nats-io/jetstream';
import {
  EVENT_CONTRACTS,
  messageIds,
  StepReady,
  subjects,
  type StepFailed,
  type StepGenerated,
  type StepProgress,
} from '@trellis/contracts';
import { freePort, ServiceProcess, serviceScript } from '@trellis/devstack';
import { startSimulator, type SimulatorHandle } from '@trellis/llm';
import { connectNats, decodeEvent, deleteNamespace, EventPublisher, type NatsConnection } from '@trellis/messaging';
import { createTestNamespace, REPO_ROOT, testEnv, uniqueToken } from '@trellis/testing';
import type { z } from 'zod';

const SIMULATOR_KEY = `sk-sim-${uniqueToken()}`;

/** What the executors said about steps, in arrival order. */
export interface SeenEvents {
  generated: StepGenerated[];
  failed: StepFailed[];
  progress: StepProgress[];
}

/**
 * Executors as their own processes with no planner: the test plays the planner, publishing
 * `step.ready` jobs to a pool's work queue and watching `step.*` events on the bus.
 */
export class ExecutorHarness {
  readonly executors = new Map<string, ServiceProcess>();
  readonly seen: SeenEvents = { generated: [], failed: [], progress: [] };
  private count = 0;

  private constructor(
    readonly ns: string,
    readonly nc: NatsConnection,
    readonly sim: SimulatorHandle,
    private readonly publisher: EventPublisher,
  ) {}

  static async start(options: { simulatorLatencyMs?: number } = {}): Promise<ExecutorHarness> {
    const ns = createTestNamespace();
    // A key, as a provider demands: executors get it as OPENAI_API_KEY (a providers file names that variable).
    const sim = await startSimulator({ port: 0, apiKey: SIMULATOR_KEY, ...(options.simulatorLatencyMs ? { latencyMs: options.simulatorLatencyMs } : {}) });
    const nc = await connectNats({ servers: testEnv.natsUrl, name: 'executor-test' });
    const harness = new ExecutorHarness(ns, nc, sim, new EventPublisher(nc, { source: 'trellis/test' }));
    const contracts = new Map(EVENT_CONTRACTS.map((c) => [c.type, c]));
    nc.subscribe(subjects(ns).allEvents, {
      callback: (_err, msg) => {
        const decoded = decodeEvent(msg.data, contracts);
        if (!decoded.ok) return;
        const type = decoded.envelope.type;
        if (type.endsWith('step.generated')) harness.seen.generated.push(decoded.data as StepGenerated);
        else if (type.endsWith('step.failed')) harness.seen.failed.push(decoded.data as StepFailed);
        else if (type.endsWith('step.progress')) harness.seen.progress.push(decoded.data as StepProgress);
      },
    });
    await nc.flush();
    return harness;
  }

  /** Starts one executor process (`EXECUTOR_ID` = its name) and waits until it is ready. */
  async startExecutor(env: NodeJS.ProcessEnv = {}, name = `executor-${++this.count}`): Promise<ServiceProcess> {
    const p = new ServiceProcess({
      name,
      script: serviceScript(REPO_ROOT, 'executor'),
      port: await freePort(),
      echo: process.env.TRELLIS_TEST_ECHO === '1',
      env: {
        ...testEnv.inherited,
        NATS_URL: testEnv.natsUrl,
        TRELLIS_NAMESPACE: this.ns,
        OPENAI_BASE_URL: this.sim.url,
        OPENAI_API_KEY: SIMULATOR_KEY,
        LOG_LEVEL: process.env.TRELLIS_TEST_LOG_LEVEL ?? 'warn',
        EXECUTOR_ID: name,
        ...env,
      },
    });
    this.executors.set(name, p);
    p.start();
    // Generous: the suite shares two cores with every other test file.
    await p.waitReady(60_000);
    return p;
  }

  /** Publishes one job (defaults: a model step of pool `default`) and returns it. */
  async publishJob(overrides: Partial<z.input<typeof StepReady.data>> = {}): Promise<StepReady> {
    const job = StepReady.data.parse({
      runId: randomUUID(),
      project: 'p',
      stepId: `s_${uniqueToken()}`,
      attempt: 1,
      pool: 'default',
      model: 'sim-model',
      prompt: 'Say something',
      context: { inputs: {}, steps: {} },
      ...overrides,
    });
    await this.publisher.publish(StepReady, job, { subject: subjects(this.ns).stepWork(job.pool), id: messageIds.stepReady(job.runId, job.stepId, job.attempt) });
    return job;
  }

  /** Publishes any event on the events stream (e.g. `run.completed` to cancel). */
  publishEvent: EventPublisher['publish'] = (contract, data, options) => this.publisher.publish(contract, data, options);

  /** Requests the simulator received for one job (its marker is in the prompt). */
  requestsFor(marker: string) {
    return this.sim.requests().filter((r) => JSON.stringify(r.messages).includes(marker));
  }

  generatedFor(job: Pick<StepReady, 'stepId'>) {
    return this.seen.generated.filter((e) => e.stepId === job.stepId);
  }

  failedFor(job: Pick<StepReady, 'stepId'>) {
    return this.seen.failed.filter((e) => e.stepId === job.stepId);
  }

  async consumer(pool = 'default'): Promise<ConsumerInfo> {
    const jsm = await jetstreamManager(this.nc);
    return jsm.consumers.info(subjects(this.ns).streams.work, `executor-${pool}`);
  }

  /** Writes a providers file for this test and returns its path. */
  providersFile(yaml: string): string {
    const path = join(tmpdir(), `providers-${this.ns}.yaml`);
    writeFileSync(path, yaml);
    return path;
  }

  async stop(): Promise<void> {
    for (const p of this.executors.values()) await p.stop();
    await this.sim.close();
    await deleteNamespace(this.nc, this.ns).catch(() => undefined);
    // The rate-limit bucket is a KV stream of its own, outside the namespace's streams.
    const jsm = await jetstreamManager(this.nc);
    await jsm.streams.delete(`KV_${subjects(this.ns).buckets.rateLimits}`).catch(() => undefined);
    await this.nc.close();
  }
}
