import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager, type ConsumerMessages } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { Client } from 'pg';
import {
  messageIds,
  EVENT_CONTRACTS,
  PlannerRpc,
  StepFailed,
  StepGenerated,
  StepReady,
  StepVerified,
  resultQueues,
  subjects,
  VerifyRequested,
  type EventContract,
  type FailureInfo,
  type RpcMethod,
  type RunView,
} from '@trellis/contracts';
import { freePort, ServiceProcess, serviceScript } from '@trellis/devstack';
import { connectNats, decodeEvent, deleteNamespace, ensureConsumer, EventPublisher, provisionStreams, RpcClient, type HandOffOptions, type NatsConnection } from '@trellis/messaging';
import { createTestDatabase, createTestNamespace, REPO_ROOT, testEnv, uniqueToken, waitFor } from '@trellis/testing';
import type { z } from 'zod';

/** One message the planner put on the bus, decoded with its contract. */
export interface SeenMessage {
  type: string;
  id: string;
  subject: string;
  data: unknown;
}

/** A run as the planner's `run` table keeps it: only columns that outlive a redesign. */
export interface RunRow {
  id: string;
  status: string;
  error: FailureInfo | null;
  inputTokens: number;
  outputTokens: number;
  cost: number;
}

/** A step of a run as the `step_run` table keeps it: only columns that outlive a redesign. */
export interface StepRow {
  runId: string;
  stepId: string;
  status: string;
  attempt: number;
  output: string | null;
  structured: unknown;
  score: number | null;
  error: FailureInfo | null;
  /** Rounds of the verification loop recorded for the step. */
  iterations: number;
}

type Job = Pick<StepReady, 'runId' | 'stepId' | 'attempt'>;
type GeneratedJob = Job & Partial<Pick<StepReady, 'model' | 'prompt'>>;
/** A result's id (default: the producer's, `resultIds`), and how long its hand-off may wait for a planner. */
type ResultOptions = { id?: string; handoffTimeoutMs?: number };
type GeneratedFields = Partial<Omit<z.input<typeof StepGenerated.data>, 'runId' | 'stepId' | 'attempt'>>;
type VerifiedFields = Omit<z.input<typeof StepVerified.data>, 'runId' | 'stepId' | 'attempt'>;

function generatedData(job: GeneratedJob, fields: GeneratedFields): z.input<typeof StepGenerated.data> {
  const now = new Date().toISOString();
  const output = fields.output ?? `output of ${job.stepId}`;
  return {
    runId: job.runId,
    stepId: job.stepId,
    attempt: job.attempt,
    output,
    model: job.model ?? 'gpt-4.1-mini',
    messages: [
      { role: 'user', content: job.prompt ?? '' },
      { role: 'assistant', content: output },
    ],
    usage: { inputTokens: 10, outputTokens: 5 },
    finishReason: 'stop',
    startedAt: now,
    finishedAt: now,
    executor: 'harness-executor',
    ...fields,
  };
}

/** Message ids as the executor and the verifier build them (`messageIds`, libs/contracts). */
export const resultIds = {
  generated: (j: Job) => messageIds.stepGenerated(j.runId, j.stepId, j.attempt),
  failed: (j: Job) => messageIds.stepFailed(j.runId, j.stepId, j.attempt),
  verified: (j: Job) => messageIds.stepVerified(j.runId, j.stepId, j.attempt),
  /** The verifier's `step.failed`, for a verification job it dead-lettered. */
  verificationFailed: (j: Job) => messageIds.verificationFailed(j.runId, j.stepId, j.attempt),
};

/**
 * The planner as its own process (from dist/), with a database and a NATS namespace of its
 * own, and the template registry it pins every run's templates with (the real one: it seeds
 * the built-in personality, judge and feedback prompts); the test plays the gateway (runs.* RPCs), the executors
 * (pulls step.ready from the step work queues, reports step.generated / step.failed as they do:
 * the event, then the hand-off, ADR 0017) and the verifier (pulls verification jobs, reports
 * step.verified).
 *
 * It asserts only on what crosses the planner's boundary, so that it survives a redesign of
 * the planner's internals: RPC answers, work items and events decoded with the contracts,
 * and a few stable columns of the planner's tables (read in {@link runRow} / {@link stepRows}
 * only, so a schema change is one edit here).
 */
export class PlannerHarness {
  /** Every `step.ready` pulled from the step work queues, in arrival order. */
  readonly stepJobs: StepReady[] = [];
  /** Every verification job pulled from the verify work queue, in arrival order. */
  readonly verifyJobs: VerifyRequested[] = [];
  /** Every event on the namespace's events subjects, in arrival order. */
  readonly events: SeenMessage[] = [];
  /** Messages on the bus that did not fit their contract (a planner bug if any). */
  readonly undecodable: Array<{ subject: string; reason: string }> = [];
  readonly project = 'acme';
  /** How results reach the planner: handed over (as executors do), or queued at once (as when no planner answers). */
  delivery: 'handoff' | 'queue' = 'handoff';
  /** Where each kind of result goes besides the events. */
  private readonly results;
  private readonly pulls: ConsumerMessages[] = [];

  private constructor(
    readonly ns: string,
    readonly nc: NatsConnection,
    private readonly rpc: RpcClient,
    readonly planner: ServiceProcess,
    readonly registry: ServiceProcess,
    private readonly sql: Client,
    private readonly publisher: EventPublisher,
    private readonly cleanUp: () => Promise<void>,
  ) {
    this.results = resultQueues(subjects(ns));
  }

  static async start(): Promise<PlannerHarness> {
    const ns = createTestNamespace();
    const db = await createTestDatabase();
    const nc = await connectNats({ servers: testEnv.natsUrl, name: 'planner-test' });
    // The streams exist before the planner does, so that the harness's consumers see every job.
    await provisionStreams(nc, ns);
    // A durable an older planner read results with (ADR 0017): this planner deletes it at start.
    await ensureConsumer(nc, { stream: subjects(ns).streams.events, durable: 'planner-step-generated', filterSubject: subjects(ns).eventsOfType('step', 'generated'), ackWaitMs: 30_000, maxAckPending: 1024 });
    // An empty personalities folder: only the built-in ones, whatever the machine's home holds.
    const personalities = mkdtempSync(join(tmpdir(), 'planner-personalities-'));
    const common = { PATH: process.env.PATH, DATABASE_URL: db.url, NATS_URL: testEnv.natsUrl, TRELLIS_NAMESPACE: ns, LOG_LEVEL: testEnv.logLevel };
    const planner = new ServiceProcess({
      name: 'planner',
      script: serviceScript(REPO_ROOT, 'planner'),
      port: await freePort(),
      echo: testEnv.echo,
      env: {
        ...common,
        // The simulator's catalog: its tiers choose the escalation model (gpt-4.1-mini → gpt-4.1).
        TRELLIS_PROVIDERS: join(REPO_ROOT, 'deploy/simulator-catalog.yaml'),
        TRELLIS_PERSONALITIES_DIR: personalities,
      },
    });
    // Every run pins its templates (its personality, its judge and feedback prompts) at start: the registry answers.
    const registry = new ServiceProcess({ name: 'template-registry', script: serviceScript(REPO_ROOT, 'template-registry'), port: await freePort(), echo: testEnv.echo, env: common });
    const sql = new Client({ connectionString: db.url });
    await sql.connect();
    const cleanUp = async () => {
      await db.drop();
      rmSync(personalities, { recursive: true, force: true });
    };
    const h = new PlannerHarness(ns, nc, new RpcClient(nc, ns), planner, registry, sql, new EventPublisher(nc, { source: 'trellis/test' }), cleanUp);
    h.watchEvents();
    await h.pullWork();
    planner.start();
    registry.start();
    await Promise.all([planner.waitReady(60_000), registry.waitReady(60_000)]);
    return h;
  }

  // ---- the gateway's side: RPCs ----

  /** Calls a planner (or registry) method for the harness's project. */
  call<M extends RpcMethod>(method: M, request: Omit<z.input<M['request']>, 'project'> & { project?: string }): Promise<z.output<M['response']>> {
    return this.rpc.call(method, { project: this.project, ...request } as z.input<M['request']>);
  }

  /** Starts a run of an inline spec (a JSON object, or YAML text). */
  startInline(spec: object | string, inputs: Record<string, unknown> = {}, extra: { stream?: boolean; maxRunning?: number } = {}): Promise<RunView> {
    return this.call(PlannerRpc.startRun, { source: typeof spec === 'string' ? { yaml: spec } : { json: spec }, inputs, ...extra });
  }

  /** A pipeline name no other test uses. */
  uniqueName(prefix = 'p'): string {
    return `${prefix}-${uniqueToken()}`;
  }

  // ---- the executors' side: step work ----

  /** The `step.ready` of a step (its latest attempt, or the one given), once it is on the queue. */
  job(runId: string, stepId: string, attempt?: number): Promise<StepReady> {
    return waitFor(`step.ready of ${stepId}${attempt ? ` attempt ${attempt}` : ''}`, () => this.jobsOf(runId, stepId).filter((j) => attempt === undefined || j.attempt === attempt).at(-1));
  }

  jobsOf(runId: string, stepId?: string): StepReady[] {
    return this.stepJobs.filter((j) => j.runId === runId && (stepId === undefined || j.stepId === stepId));
  }

  /** Reports `step.generated` for a job as an executor would (defaults: the job's model, 10 in / 5 out tokens). */
  generated(job: GeneratedJob, fields: GeneratedFields = {}, options: ResultOptions = {}): Promise<'handed' | 'queued'> {
    return this.report(StepGenerated, generatedData(job, fields), {
      subject: subjects(this.ns).event('step', 'generated', job.runId),
      id: options.id ?? resultIds.generated(job),
      ...this.results.generated,
      ...(options.handoffTimeoutMs ? { handoffTimeoutMs: options.handoffTimeoutMs } : {}),
    });
  }

  /** Publishes `step.generated` to the events only: what an executor that died before handing it over left behind. */
  async publishEventOnly(job: GeneratedJob, fields: GeneratedFields = {}): Promise<void> {
    await this.publisher.publish(StepGenerated, generatedData(job, fields), { subject: subjects(this.ns).event('step', 'generated', job.runId), id: resultIds.generated(job) });
  }

  /** Publishes `step.failed` for a job as an executor would. */
  failed(job: Job, error: Partial<FailureInfo> = {}, options: { id?: string } = {}): Promise<'handed' | 'queued'> {
    return this.report(
      StepFailed,
      { runId: job.runId, stepId: job.stepId, attempt: job.attempt, error: { code: 'llm.bad_request', message: `${job.stepId} failed`, retryable: false, ...error }, executor: 'harness-executor' },
      { subject: subjects(this.ns).event('step', 'failed', job.runId), id: options.id ?? resultIds.failed(job), ...this.results.failed },
    );
  }

  /**
   * A result as the executor and the verifier report it (ADR 0017): the event, then the planner
   * is handed it and answers once it is committed (`handed`), or, when none takes it, it is
   * queued. With `delivery` 'queue' the harness queues it at once, as a producer does when no
   * planner answers: the planner's durable consumer takes it, in batches.
   */
  private async report<C extends EventContract>(contract: C, data: z.input<C['data']>, options: HandOffOptions): Promise<'handed' | 'queued'> {
    if (this.delivery === 'handoff') return this.publisher.publishAndHandOff(contract, data, options);
    await this.publisher.publish(contract, data, options);
    await this.publisher.publish(contract, data, { ...options, subject: options.queue });
    return 'queued';
  }

  // ---- the verifier's side: verification work ----

  /** The verification job of a step (its latest attempt, or the one given), once it is on the queue. */
  verifyJob(runId: string, stepId: string, attempt?: number): Promise<VerifyRequested> {
    return waitFor(`verification job of ${stepId}${attempt ? ` attempt ${attempt}` : ''}`, () =>
      this.verifyJobs.filter((j) => j.runId === runId && j.stepId === stepId && (attempt === undefined || j.attempt === attempt)).at(-1),
    );
  }

  /** Publishes `step.verified` for a verification job as the verifier would. */
  verified(job: Job, verdict: VerifiedFields, options: { id?: string } = {}): Promise<'handed' | 'queued'> {
    return this.report(
      StepVerified,
      { runId: job.runId, stepId: job.stepId, attempt: job.attempt, ...verdict },
      { subject: subjects(this.ns).event('step', 'verified', job.runId), id: options.id ?? resultIds.verified(job), ...this.results.verified },
    );
  }

  // ---- what the planner announced ----

  /** The data of a run's events of one contract, in arrival order. */
  eventsOf<C extends EventContract>(contract: C, runId: string): Array<z.infer<C['data']>> {
    return this.events.filter((e) => e.type === contract.type && (e.data as { runId?: string }).runId === runId).map((e) => e.data as z.infer<C['data']>);
  }

  /** Waits for the first event of a contract about a run that matches `where`. */
  event<C extends EventContract>(contract: C, runId: string, where: (data: z.infer<C['data']>) => boolean = () => true): Promise<z.infer<C['data']>> {
    return waitFor(`${contract.type} of run ${runId}`, () => this.eventsOf(contract, runId).find(where));
  }

  /**
   * Waits until the planner's result queues hold nothing it has not settled: with the results
   * handed over already committed (a hand-off answers after the commit), whatever the planner
   * was going to do with the results reported so far, it has committed.
   */
  async resultsConsumed(): Promise<void> {
    await waitFor('the planner to consume every queued result', async () => {
      const consumers = await this.resultConsumers();
      return consumers.length === 3 && consumers.every((c) => c.num_pending === 0 && c.num_ack_pending === 0);
    });
  }

  /** The planner's durable consumers of its result queues. */
  private async resultConsumers() {
    const jsm = await jetstreamManager(this.nc);
    const results = subjects(this.ns).resultWork;
    const queues = new Set([results('generated'), results('verified'), results('failed')]);
    return (await jsm.consumers.list(subjects(this.ns).streams.work).next()).filter((c) => queues.has(c.config.filter_subject ?? ''));
  }

  /** How many queued step results the planner's consumers have been handed again (a failed apply is redelivered). */
  async redeliveredResults(): Promise<number> {
    const consumers = await this.resultConsumers();
    return consumers.reduce((sum, c) => sum + c.num_redelivered, 0);
  }

  /** A product file of a run, as the planner stored it in the namespace's object store. */
  async product(runId: string, path: string): Promise<string | undefined> {
    const store = await new Objm(this.nc).open(subjects(this.ns).buckets.products);
    const blob = await store.getBlob(`${runId}/${path}`);
    return blob ? Buffer.from(blob).toString('utf8') : undefined;
  }

  // ---- the planner's rows ----

  async runRow(runId: string): Promise<RunRow | undefined> {
    const { rows } = await this.sql.query<RunRow>(
      `select "id", "status", "error", "input_tokens" as "inputTokens", "output_tokens" as "outputTokens", "cost"::float8 as "cost" from "planner"."run" where "id" = $1`,
      [runId],
    );
    return rows[0];
  }

  /** The run's steps by step id. */
  async stepRows(runId: string): Promise<Record<string, StepRow>> {
    const { rows } = await this.sql.query<StepRow>(
      `select "run_id" as "runId", "step_id" as "stepId", "status", "attempt", "output", "structured", "score"::float8 as "score", "error",
              json_array_length("iterations") as "iterations"
         from "planner"."step_run" where "run_id" = $1`,
      [runId],
    );
    return Object.fromEntries(rows.map((r) => [r.stepId, r]));
  }

  /** Stops everything and removes the namespace and the database; fails if any message on the bus did not fit its contract. */
  async stop(): Promise<void> {
    for (const pull of this.pulls) pull.stop();
    await this.registry.stop();
    await this.planner.stop();
    await deleteNamespace(this.nc, this.ns).catch(() => undefined);
    await this.nc.close();
    await this.sql.end();
    await this.cleanUp();
    if (this.undecodable.length) throw new Error(`messages that do not fit their contract: ${JSON.stringify(this.undecodable)}`);
  }

  private watchEvents(): void {
    const contracts = new Map(EVENT_CONTRACTS.map((c) => [c.type, c]));
    this.nc.subscribe(subjects(this.ns).allEvents, {
      callback: (_err, msg) => {
        const decoded = decodeEvent(msg.data, contracts);
        if (!decoded.ok) this.undecodable.push({ subject: msg.subject, reason: decoded.reason });
        else this.events.push({ type: decoded.envelope.type, id: decoded.envelope.id, subject: msg.subject, data: decoded.data });
      },
    });
  }

  /** Durable pull consumers of the step and verification work queues, as the executors' and the verifier's. */
  private async pullWork(): Promise<void> {
    const s = subjects(this.ns);
    const queues = [
      { durable: 'harness-steps', filterSubject: s.allStepWork, contract: StepReady as EventContract, into: this.stepJobs as unknown[] },
      { durable: 'harness-verify', filterSubject: s.verifyWork, contract: VerifyRequested as EventContract, into: this.verifyJobs as unknown[] },
    ];
    const js = jetstream(this.nc);
    for (const q of queues) {
      await ensureConsumer(this.nc, { stream: s.streams.work, durable: q.durable, filterSubject: q.filterSubject, ackWaitMs: 30_000, maxAckPending: 1000 });
      const messages = await (await js.consumers.get(s.streams.work, q.durable)).consume();
      this.pulls.push(messages);
      const contracts = new Map([[q.contract.type, q.contract]]);
      void (async () => {
        for await (const msg of messages) {
          const decoded = decodeEvent(msg.data, contracts);
          if (decoded.ok) q.into.push(decoded.data);
          else this.undecodable.push({ subject: msg.subject, reason: decoded.reason });
          msg.ack();
        }
      })();
    }
    await this.nc.flush();
  }
}
