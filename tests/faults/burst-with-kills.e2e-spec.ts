import { subjects } from '@trellis/contracts';
import { connectNats, type NatsConnection } from '@trellis/messaging';
import { startTestPlatform, streamMessages, testEnv, waitFor, type TestPlatform } from '@trellis/testing';

/**
 * How many runs the burst starts. 250 in the default suite (two cores); `npm run test:faults`
 * sets FAULT_BURST_RUNS=1000 for the full burst.
 */
const RUNS = Number(process.env.FAULT_BURST_RUNS ?? 250);
const CONCURRENCY = 16;

const chain = {
  version: 1,
  name: 'burst',
  inputs: { n: { type: 'string', required: true } },
  steps: {
    a: { prompt: 'burst first {{ inputs.n }} [[sim latency_ms=150]]' },
    b: { depends_on: ['a'], prompt: 'burst second {{ inputs.n }}: {{ steps.a.output }}' },
  },
};

/**
 * Fault: a burst of runs with an executor SIGKILLed and the planner SIGKILLed (each once,
 * each started again) while the burst is in flight. Expected: every run completes; every
 * step is applied once (one `step.completed` per step, attempt 1); the only repeated model
 * calls are the ones the killed executor held (at most its concurrency).
 */
describe(`fault: a burst of ${RUNS} runs with an executor and the planner killed once each`, () => {
  let ctx: TestPlatform;
  let nc: NatsConnection;

  beforeAll(async () => {
    ctx = await startTestPlatform({
      executors: 2,
      serviceEnv: {
        executor: { EXECUTOR_ACK_WAIT_MS: '3000', EXECUTOR_CONCURRENCY: String(CONCURRENCY) },
        gateway: { GATEWAY_MAX_RUNNING_RUNS: '200' },
      },
    });
    nc = await connectNats({ servers: testEnv.natsUrl, name: 'fault-test' });
  }, 60_000);
  afterAll(async () => {
    await nc?.close();
    await ctx?.stop();
  }, 60_000);

  it('completes every run and applies every step once', async () => {
    const s = subjects(ctx.namespace);
    const finished = async () => (await streamMessages(nc, s.streams.events, s.eventsOfType('run', 'completed'))).length;
    const runs: string[] = [];
    let executorKilled = false;
    let plannerKilled = false;
    for (let n = 0; n < RUNS; n++) {
      // Past the project's running-runs limit a run is queued (202), never refused.
      const res = await ctx.api.post('/v1/runs', { spec: chain, inputs: { n: String(n) } });
      expect(res.status).toBe(202);
      runs.push(res.body.id);
      if (!executorKilled && n === Math.floor(RUNS / 3)) {
        executorKilled = true;
        await ctx.platform.get('executor-1').kill();
        // Started again in the background; the burst goes on meanwhile (checked ready at the end).
        void ctx.platform.restart('executor-1').catch(() => undefined);
      }
      if (!plannerKilled && n === Math.floor((2 * RUNS) / 3)) {
        plannerKilled = true;
        await ctx.platform.get('planner').kill();
        // Runs are accepted only while the planner answers: start it again before going on.
        await ctx.platform.restart('planner');
      }
    }
    await waitFor(`all ${RUNS} runs to finish`, async () => (await finished()) >= RUNS, { timeoutMs: 300_000, intervalMs: 1000 });
    await ctx.platform.get('executor-1').waitReady();

    const completed = (await streamMessages(nc, s.streams.events, s.eventsOfType('run', 'completed'))).map((m) => JSON.parse(m.text).data as { runId: string; status: string });
    expect(completed).toHaveLength(RUNS);
    expect(new Set(completed.map((c) => c.runId))).toEqual(new Set(runs));
    expect(completed.filter((c) => c.status !== 'succeeded')).toEqual([]);

    // Each step applied once, on its first attempt.
    const steps = (await streamMessages(nc, s.streams.events, s.eventsOfType('step', 'completed'))).map((m) => JSON.parse(m.text).data as { runId: string; stepId: string; attempt: number });
    expect(steps).toHaveLength(2 * RUNS);
    expect(new Set(steps.map((x) => `${x.runId}/${x.stepId}`)).size).toBe(2 * RUNS);
    expect(steps.every((x) => x.attempt === 1)).toBe(true);

    // Every step reached the model; repeats only for what the killed executor held.
    const calls = ctx.simulator.requests().filter((r) => r.messages.some((m) => m.content.startsWith('burst ')));
    const perStep = new Map<string, number>();
    for (const r of calls) {
      const text = r.messages.find((m) => m.content.startsWith('burst '))!.content;
      const key = text.slice(0, text.indexOf(':') === -1 ? undefined : text.indexOf(':')).replace(/ \[\[.*$/, '');
      perStep.set(key, (perStep.get(key) ?? 0) + 1);
    }
    expect(perStep.size).toBe(2 * RUNS);
    expect(calls.length - 2 * RUNS).toBeLessThanOrEqual(CONCURRENCY);
  }, 600_000);
});
