import { randomUUID } from 'node:crypto';
import { EVENT_CONTRACTS, messageIds, subjects, VerifyRequested, type StepFailed, type StepVerified } from '@trellis/contracts';
import { freePort, ServiceProcess, serviceScript } from '@trellis/devstack';
import { builtInTemplate, ORCHESTRATION_TEMPLATES } from '@trellis/engine';
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from '@trellis/llm';
import { connectNats, decodeEvent, deleteNamespace, EventPublisher, type NatsConnection } from '@trellis/messaging';
import { createTestNamespace, REPO_ROOT, testEnv, uniqueToken, waitFor } from '@trellis/testing';
import type { z } from 'zod';

type SimulatedCall = Parameters<NonNullable<SimulatorOptions['respond']>>[0];

/**
 * The judge's answer a test wants, carried inside the candidate text as `<<judge {json}>>`:
 * the simulator's `respond` hook finds it in the judge's request and answers it, so each
 * round's candidate decides its own verdict while the verifier still talks HTTP to a model.
 */
export function candidate(text: string, judge?: { score: number; categories?: Record<string, number>; violations?: unknown[]; feedback?: string }): string {
  return judge ? `${text} <<judge ${JSON.stringify({ categories: {}, violations: [], feedback: '', ...judge })}>>` : text;
}

/**
 * Answers judge requests (`response_format.json_schema.name` = `judge_verdict`, or no
 * `response_format` at all: a provider that refused it is asked with instructions) from the
 * candidate's `<<judge …>>` marker, or with raw text after `<<judge-raw …>>`.
 */
export function judgeFromCandidate(call: SimulatedCall): string | undefined {
  const format = call.responseFormat as { json_schema?: { name?: string } } | null;
  if (format && format.json_schema?.name !== 'judge_verdict') return undefined;
  const text = call.messages.map((m) => m.content).join('\n');
  const raw = /<<judge-raw (.*?)>>/s.exec(text);
  if (raw) return raw[1];
  return /<<judge (\{.*?\})>>/s.exec(text)?.[1];
}

/**
 * The verifier as its own process (from dist/) with no planner: the test plays the planner,
 * publishing `verify_requested` jobs and reading `step.verified` / `step.failed` events.
 */
export class VerifierHarness {
  readonly verified: StepVerified[] = [];
  readonly failed: StepFailed[] = [];
  private verifier: ServiceProcess | undefined;

  private constructor(
    readonly ns: string,
    readonly nc: NatsConnection,
    readonly sim: SimulatorHandle,
    private readonly publisher: EventPublisher,
  ) {}

  static async start(env: NodeJS.ProcessEnv = {}): Promise<VerifierHarness> {
    const ns = createTestNamespace();
    const simulatorKey = `sk-sim-${uniqueToken()}`;
    const sim = await startSimulator({ port: 0, respond: judgeFromCandidate, apiKey: simulatorKey });
    const nc = await connectNats({ servers: testEnv.natsUrl, name: 'verifier-test' });
    const harness = new VerifierHarness(ns, nc, sim, new EventPublisher(nc, { source: 'trellis/test' }));
    const contracts = new Map(EVENT_CONTRACTS.map((c) => [c.type, c]));
    nc.subscribe(subjects(ns).allEvents, {
      callback: (_err, msg) => {
        const decoded = decodeEvent(msg.data, contracts);
        if (!decoded.ok) return;
        if (decoded.envelope.type.endsWith('step.verified')) harness.verified.push(decoded.data as StepVerified);
        else if (decoded.envelope.type.endsWith('step.failed')) harness.failed.push(decoded.data as StepFailed);
      },
    });
    await nc.flush();
    harness.verifier = new ServiceProcess({
      name: 'verifier',
      script: serviceScript(REPO_ROOT, 'verifier'),
      port: await freePort(),
      echo: process.env.TRELLIS_TEST_ECHO === '1',
      env: {
        ...testEnv.inherited,
        NATS_URL: testEnv.natsUrl,
        TRELLIS_NAMESPACE: ns,
        OPENAI_BASE_URL: sim.url,
        OPENAI_API_KEY: simulatorKey,
        VERIFIER_JUDGE_MODEL: 'sim-judge',
        LOG_LEVEL: process.env.TRELLIS_TEST_LOG_LEVEL ?? 'warn',
        ...env,
      },
    });
    harness.verifier.start();
    await harness.verifier.waitReady();
    return harness;
  }

  /** Publishes one verification job (defaults: a fresh step, attempt 1, no gates given) and returns it. */
  async publishJob(overrides: Partial<z.input<typeof VerifyRequested.data>> = {}): Promise<VerifyRequested> {
    const job = VerifyRequested.data.parse({
      runId: randomUUID(),
      project: 'p',
      stepId: `s_${uniqueToken()}`,
      attempt: 1,
      output: '',
      messages: [{ role: 'user', content: 'Write a product brief.' }],
      gates: ['json'],
      iteration: 1,
      policy: { maxIterations: 3, improvementThreshold: 0.05, acceptAt: 0.8, categoryMin: 0.75, escalate: false },
      history: [],
      feedbackTemplate: { ...builtInTemplate(ORCHESTRATION_TEMPLATES.feedback)!, version: 1 },
      ...overrides,
    });
    await this.publisher.publish(VerifyRequested, job, { subject: subjects(this.ns).verifyWork, id: messageIds.verifyRequested(job.runId, job.stepId, job.attempt) });
    return job;
  }

  /** The `step.verified` of one job, once it arrives. */
  verdictFor(job: Pick<VerifyRequested, 'stepId' | 'attempt'>): Promise<StepVerified> {
    return waitFor(`step.verified of ${job.stepId} attempt ${job.attempt}`, () => this.verified.find((e) => e.stepId === job.stepId && e.attempt === job.attempt));
  }

  failedFor(job: Pick<VerifyRequested, 'stepId'>): Promise<StepFailed> {
    return waitFor(`step.failed of ${job.stepId}`, () => this.failed.find((e) => e.stepId === job.stepId), { timeoutMs: 30_000 });
  }

  /** Judge requests the simulator received for one job's candidate. */
  judgeRequestsFor(marker: string) {
    return this.sim.requests().filter((r) => r.messages.some((m) => m.content.includes(marker)));
  }

  async stop(): Promise<void> {
    await this.verifier?.stop();
    await deleteNamespace(this.nc, this.ns).catch(() => undefined);
    await this.nc.close();
    await this.sim.close();
  }
}
