import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, startTestPlatform, waitFor, modelCalls, type TestPlatform } from '@trellis/testing';

/**
 * Three executor replicas share the work of a fan-out run. One dies mid-call (SIGKILL) or
 * is asked to stop (SIGTERM) while it holds steps; either way the run completes and each
 * downstream step reaches the model exactly once.
 */
describe('executor replicas killed or stopped mid-run', () => {
  let ctx: TestPlatform;
  const yaml = readFileSync(join(REPO_ROOT, 'examples/fan-out-fan-in.yaml'), 'utf8');
  const callsFor = (marker: string, prefix: string) => modelCalls(ctx.simulator, { mentioning: marker, startingWith: prefix });

  beforeAll(async () => {
    ctx = await startTestPlatform({
      executors: 3,
      simulator: { latencyMs: 1500 },
      // At most 3 steps per replica: the 8 experts spread over all three. A killed
      // replica's steps come back after 3 s; heartbeats keep live calls.
      serviceEnv: { executor: { EXECUTOR_ACK_WAIT_MS: '3000', EXECUTOR_CONCURRENCY: '3' } },
    });
    expect((await ctx.api.post('/v1/pipelines', yaml, { contentType: 'application/yaml' })).status).toBe(201);
  }, 60_000);
  afterAll(() => ctx?.stop(), 60_000);

  it('redelivers the steps of a SIGKILLed replica; the run completes, downstream once', async () => {
    const marker = 'three-kill';
    const started = await ctx.api.post('/v1/runs', { pipeline: 'fan-out-fan-in', inputs: { idea: marker } });
    expect(started.status).toBe(202);
    await waitFor('the experts to reach the model', () => callsFor(marker, 'As the').length >= 8, { timeoutMs: 20_000 });
    const held = callsFor(marker, 'As the').length;
    await ctx.platform.get('executor-1').kill();

    const run = await ctx.api.waitForRun(started.body.id, 60_000);
    expect(run.status).toBe('succeeded');
    expect(run.steps.every((s) => s.status === 'succeeded' && s.attempt === 1)).toBe(true);
    expect(callsFor(marker, 'Write a short plan')).toHaveLength(1);
    expect(callsFor(marker, 'Combine the experts')).toHaveLength(1);
    // What executor-1 held reached the model again, from a surviving replica.
    expect(callsFor(marker, 'As the').length).toBeGreaterThan(held);
    const experts = run.steps.filter((s) => s.id.startsWith('expert_'));
    expect(experts.some((s) => s.executor === 'executor-1')).toBe(false);
  }, 90_000);

  it('lets a SIGTERMed replica finish its steps in flight: none lost, none repeated', async () => {
    const marker = 'three-drain';
    const started = await ctx.api.post('/v1/runs', { pipeline: 'fan-out-fan-in', inputs: { idea: marker } });
    await waitFor('the experts to reach the model', () => callsFor(marker, 'As the').length >= 8, { timeoutMs: 20_000 });
    const executor = ctx.platform.get('executor-2');
    const inFlight = callsFor(marker, 'As the').length;
    // Nest re-raises the signal once shut down, so the exit is by SIGTERM, not a code.
    await executor.stop();

    const run = await ctx.api.waitForRun(started.body.id, 60_000);
    expect(run.status).toBe('succeeded');
    expect(run.steps.every((s) => s.status === 'succeeded' && s.attempt === 1)).toBe(true);
    // Drained within the grace period: no expert went to the model twice.
    expect(inFlight).toBe(8);
    expect(callsFor(marker, 'As the')).toHaveLength(8);
    expect(callsFor(marker, 'Combine the experts')).toHaveLength(1);
    expect(run.steps.filter((s) => s.id.startsWith('expert_')).some((s) => s.executor === 'executor-2')).toBe(true);
  }, 90_000);

  it('waits out a 429 Retry-After of 2 s before the next try, and the run completes', async () => {
    const spec = {
      version: 1,
      name: 'rate-limited',
      steps: {
        a: { prompt: 'rate limited once [[sim status=429 retry_after=2 times=1]]' },
        b: { depends_on: ['a'], prompt: 'after the limit: {{ steps.a.output }}' },
      },
    };
    const started = await ctx.api.post('/v1/runs', { spec });
    expect(started.status).toBe(202);
    const run = await ctx.api.waitForRun(started.body.id, 60_000);
    expect(run.status).toBe('succeeded');
    const tries = ctx.simulator.requests().filter((r) => r.messages.some((m) => m.content.startsWith('rate limited once')));
    expect(tries.map((r) => r.status)).toEqual([429, 200]);
    expect(tries[1]!.receivedAt - tries[0]!.receivedAt).toBeGreaterThanOrEqual(2_000);
    expect(ctx.simulator.requests().filter((r) => r.messages.some((m) => m.content.startsWith('after the limit')))).toHaveLength(1);
  }, 60_000);
});
