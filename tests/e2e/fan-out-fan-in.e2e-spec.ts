import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunView } from '@trellis/contracts';
import { REPO_ROOT, startTestPlatform, modelCalls, type TestPlatform } from '@trellis/testing';

/**
 * The spine end to end: HTTP in at the gateway, every service its own process, real
 * PostgreSQL and NATS, the model answered by the simulator over HTTP through the openai SDK.
 */
describe('fan-out/fan-in pipeline through the whole platform', () => {
  let ctx: TestPlatform;
  const yaml = readFileSync(join(REPO_ROOT, 'examples/fan-out-fan-in.yaml'), 'utf8');

  beforeAll(async () => {
    ctx = await startTestPlatform({ executors: 2, simulator: { latencyMs: 300 } });
  }, 60_000);
  afterAll(() => ctx?.stop(), 60_000);

  let run: RunView;

  it('registers the pipeline from YAML and shows its parallel batches', async () => {
    const res = await ctx.api.post('/v1/pipelines', yaml, { contentType: 'application/yaml' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'fan-out-fan-in', version: 1 });
    expect(res.body.plan.batches).toEqual([['plan'], ['expert_1', 'expert_2', 'expert_3', 'expert_4', 'expert_5', 'expert_6', 'expert_7', 'expert_8'], ['combine']]);
  });

  it('runs every step once and completes the run', async () => {
    const started = await ctx.api.post('/v1/runs', { pipeline: 'fan-out-fan-in', inputs: { idea: 'a solar kettle' } });
    expect(started.status).toBe(202);
    expect(started.headers.get('location')).toBe(`/v1/runs/${started.body.id}`);
    run = await ctx.api.waitForRun(started.body.id);
    expect(run.status).toBe('succeeded');
    expect(run.steps.map((s) => [s.id, s.status, s.attempt])).toEqual(run.steps.map((s) => [s.id, 'succeeded', 1]));
    expect(run.steps).toHaveLength(10);
    const calls = modelCalls(ctx.simulator, { mentioning: 'solar kettle' });
    expect(calls).toHaveLength(10);
    // The run did not ask for streaming: every model call is whole.
    expect(calls.every((c) => c.stream === false)).toBe(true);
  });

  it('streams the model calls of a run that asks for it', async () => {
    const started = await ctx.api.post('/v1/runs', { pipeline: 'fan-out-fan-in', inputs: { idea: 'a streamed teapot' }, stream: true });
    expect(started.status).toBe(202);
    expect((await ctx.api.waitForRun(started.body.id)).status).toBe('succeeded');
    const calls = modelCalls(ctx.simulator, { mentioning: 'streamed teapot' });
    expect(calls).toHaveLength(10);
    expect(calls.every((c) => c.stream === true)).toBe(true);
  });

  it("puts each step's dependencies' outputs in its prompt", () => {
    const step = (id: string) => run.steps.find((s) => s.id === id)!;
    const prompt = (id: string) => step(id).messages!.map((m) => m.content).join('\n');
    const plan = step('plan').output!;
    for (let i = 1; i <= 8; i++) expect(prompt(`expert_${i}`)).toContain(plan);
    for (let i = 1; i <= 8; i++) expect(prompt('combine')).toContain(step(`expert_${i}`).output!);
    // What the model received is what the run recorded.
    const combineCall = ctx.simulator.requests().find((r) => r.messages.some((m) => m.content.startsWith('Combine the experts')));
    expect(combineCall?.messages.map((m) => m.content).join('\n')).toBe(prompt('combine'));
  });

  it('runs the eight experts at the same time', () => {
    const experts = modelCalls(ctx.simulator, { mentioning: 'solar kettle', startingWith: 'As the ' });
    expect(experts).toHaveLength(8);
    const latestStart = Math.max(...experts.map((r) => r.receivedAt));
    const earliestEnd = Math.min(...experts.map((r) => r.respondedAt ?? Infinity));
    expect(latestStart).toBeLessThan(earliestEnd);
  });

  it('records tokens per step and per run, and lists the run', async () => {
    const stepTokens = run.steps.reduce((n, s) => n + s.usage.inputTokens + s.usage.outputTokens, 0);
    expect(stepTokens).toBeGreaterThan(0);
    expect(run.usage.inputTokens + run.usage.outputTokens).toBe(stepTokens);
    const list = await ctx.api.get('/v1/runs');
    expect(list.status).toBe(200);
    expect(list.body.items.map((r: { id: string }) => r.id)).toContain(run.id);
  });
});
