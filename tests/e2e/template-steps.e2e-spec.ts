import type { RunView } from '@trellis/contracts';
import { startTestPlatform, uniqueToken, waitFor, type TestPlatform } from '@trellis/testing';

/**
 * Runs of pipelines whose steps render registry templates: the planner pins every template
 * a run needs at its start (one request), the run shows which version and variant it used,
 * and a label moved mid-run does not change the running run.
 */
describe('template steps in runs', () => {
  let ctx: TestPlatform;
  const adminToken = `admin-${uniqueToken()}-token`;
  const admin = { headers: { 'x-trellis-admin-token': adminToken } };
  const moveLabel = (name: string, label: string, version: number) => ctx.api.request('PUT', `/v1/templates/${name}/labels/${label}`, { version }, admin);
  const pipeline = (name: string, template: string, first?: string) => ({
    version: 1,
    name,
    inputs: { who: { type: 'string', required: true } },
    steps: {
      ...(first ? { first: { prompt: first } } : {}),
      greet: { template, with: { name: '{{ inputs.who }}' }, ...(first ? { depends_on: ['first'] } : {}) },
    },
  });
  const run = async (name: string, inputs: Record<string, unknown>, subject?: string): Promise<RunView> => {
    const started = await ctx.api.post('/v1/runs', { pipeline: name, inputs, ...(subject ? { subject } : {}) });
    expect(started.status).toBe(202);
    return ctx.api.waitForRun(started.body.id);
  };
  const userMessage = (r: RunView, step: string) => r.steps.find((s) => s.id === step)?.messages?.find((m) => m.role === 'user')?.content;
  const greeting = (r: RunView) => r.templates.find((t) => t.name === 'greeting');

  beforeAll(async () => {
    ctx = await startTestPlatform({ env: { TRELLIS_ADMIN_TOKEN: adminToken } });
    expect((await ctx.api.post('/v1/templates', { name: 'greeting', body: 'Say hello to {{ inputs.name }}.' })).status).toBe(201);
    expect((await moveLabel('greeting', 'production', 1)).status).toBe(200);
  }, 60_000);
  afterAll(() => ctx?.stop(), 60_000);

  it('renders the pinned version with the step\'s variables and records it on the run', async () => {
    expect((await ctx.api.post('/v1/pipelines', pipeline('greeter', 'greeting@production'))).status).toBe(201);
    const done = await run('greeter', { who: 'Ada' });
    expect(done.status).toBe('succeeded');
    expect(userMessage(done, 'greet')).toBe('Say hello to Ada.');
    expect(done.templates).toEqual([
      { ref: 'greeting@production', name: 'greeting', category: 'prompt', version: 1, label: 'production', level: 'project', experiment: null },
      // Every model step's personality is a registry template too (the seeded `standard`).
      { ref: 'standard', name: 'standard', category: 'personality', version: 1, label: 'production', level: 'global', experiment: null },
    ]);
  });

  it('keeps a running run on its pinned version when the label moves', async () => {
    expect((await ctx.api.post('/v1/pipelines', pipeline('slow-greeter', 'greeting@production', 'warm up [[sim latency_ms=2500]]'))).status).toBe(201);
    const started = await ctx.api.post('/v1/runs', { pipeline: 'slow-greeter', inputs: { who: 'Grace' } });
    await waitFor('the run to start', () => ctx.simulator.requests().some((r) => JSON.stringify(r.messages).includes('warm up')));
    expect((await ctx.api.post('/v1/templates', { name: 'greeting', body: 'Greetings, {{ inputs.name }}!' })).status).toBe(201);
    expect((await moveLabel('greeting', 'production', 2)).status).toBe(200);
    const pinned = await ctx.api.waitForRun(started.body.id);
    expect(userMessage(pinned, 'greet')).toBe('Say hello to Grace.');
    expect(greeting(pinned)).toMatchObject({ version: 1 });
    const next = await run('greeter', { who: 'Grace' });
    expect(userMessage(next, 'greet')).toBe('Greetings, Grace!');
    expect(greeting(next)).toMatchObject({ version: 2 });
  });

  it('assigns an experiment variant sticky to the run subject and records it', async () => {
    const experiment = await ctx.api.post('/v1/experiments', { template: 'greeting', variants: [{ name: 'plain', version: 1 }, { name: 'warm', version: 2 }] }, admin);
    expect(experiment.status).toBe(201);
    expect((await ctx.api.post('/v1/pipelines', pipeline('ab-greeter', 'greeting'))).status).toBe(201);
    const first = await run('ab-greeter', { who: 'Lin' }, 'user-42');
    const again = await run('ab-greeter', { who: 'Lin' }, 'user-42');
    expect(greeting(first)?.experiment).toEqual({ id: experiment.body.id, variant: expect.stringMatching(/^(plain|warm)$/) });
    expect(greeting(again)?.experiment).toEqual(greeting(first)?.experiment);
    expect(greeting(again)?.version).toBe(greeting(first)?.version);
  });

  it('refuses a run whose template does not exist, naming the step', async () => {
    expect((await ctx.api.post('/v1/pipelines', pipeline('ghost-greeter', 'no-such-template'))).status).toBe(201);
    const refused = await ctx.api.post('/v1/runs', { pipeline: 'ghost-greeter', inputs: { who: 'x' } });
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([expect.objectContaining({ path: 'steps.greet.template', message: expect.stringContaining('no-such-template') })]);
  });
});
