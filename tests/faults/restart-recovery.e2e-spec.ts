import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, startTestPlatform, waitFor, modelCalls, type TestPlatform } from '@trellis/testing';

/**
 * Any one process may die at any moment: state is in PostgreSQL, work in JetStream. These
 * tests kill a service while a run is in flight, start it again, and expect the run to
 * complete with every downstream step run once.
 */
describe('a service killed mid-run and started again', () => {
  let ctx: TestPlatform;
  const yaml = readFileSync(join(REPO_ROOT, 'examples/fan-out-fan-in.yaml'), 'utf8');
  const callsFor = (marker: string, prefix: string) => modelCalls(ctx.simulator, { mentioning: marker, startingWith: prefix });

  beforeAll(async () => {
    ctx = await startTestPlatform({
      executors: 2,
      simulator: { latencyMs: 1500 },
      // A killed executor's steps come back after 3 s instead of 30; heartbeats keep live calls.
      serviceEnv: { executor: { EXECUTOR_ACK_WAIT_MS: '3000', EXECUTOR_CONCURRENCY: '4' } },
    });
    expect((await ctx.api.post('/v1/pipelines', yaml, { contentType: 'application/yaml' })).status).toBe(201);
  }, 60_000);
  afterAll(() => ctx?.stop(), 60_000);

  it('completes the run when the planner is SIGKILLed while steps are in flight', async () => {
    const marker = 'planner-kill';
    const started = await ctx.api.post('/v1/runs', { pipeline: 'fan-out-fan-in', inputs: { idea: marker } });
    expect(started.status).toBe(202);
    await waitFor('the plan step to reach the model', () => callsFor(marker, 'Write a short plan').length === 1);
    await ctx.platform.get('planner').kill();
    // The plan's answer arrives while no planner runs; it waits in the events stream.
    await waitFor('the model to answer the plan step', () => (callsFor(marker, 'Write a short plan')[0]?.respondedAt ?? null) !== null, { timeoutMs: 10_000 });
    await ctx.platform.restart('planner');
    const run = await ctx.api.waitForRun(started.body.id, 60_000);
    expect(run.status).toBe('succeeded');
    expect(callsFor(marker, 'Write a short plan')).toHaveLength(1);
    expect(callsFor(marker, 'Combine the experts')).toHaveLength(1);
    for (let i = 1; i <= 8; i++) expect(run.steps.find((s) => s.id === `expert_${i}`)?.status).toBe('succeeded');
  }, 90_000);

  it('completes the run when an executor is SIGKILLed while it holds steps', async () => {
    const marker = 'executor-kill';
    const started = await ctx.api.post('/v1/runs', { pipeline: 'fan-out-fan-in', inputs: { idea: marker } });
    // Each executor takes at most 4 steps at once: with 8 experts in flight, both hold some.
    await waitFor('the experts to reach the model', () => callsFor(marker, 'As the').length >= 8, { timeoutMs: 20_000 });
    await ctx.platform.get('executor-1').kill();
    const run = await ctx.api.waitForRun(started.body.id, 60_000);
    expect(run.status).toBe('succeeded');
    expect(callsFor(marker, 'Combine the experts')).toHaveLength(1);
    expect(run.steps.every((s) => s.status === 'succeeded' && s.attempt === 1)).toBe(true);
    // The steps the killed executor held reached the model a second time, from the other executor.
    const expertCalls = callsFor(marker, 'As the');
    expect(expertCalls.length).toBeGreaterThan(8);
    expect(new Set(run.steps.filter((s) => s.id.startsWith('expert_')).map((s) => s.executor))).toEqual(new Set(['executor-2']));
    await ctx.platform.restart('executor-1');
  }, 90_000);
});
