import type { RunDiff, RunView } from '@trellis/contracts';
import type { SimulatorOptions } from '@trellis/llm';
import { ApiClient, startTestPlatform, uniqueToken, type TestPlatform } from '@trellis/testing';

/** The judge: 0.6 and "Be specific." on a first draft, 0.9 once the task carries that feedback. */
function judge(call: Parameters<NonNullable<SimulatorOptions['respond']>>[0]): string | undefined {
  const format = call.responseFormat as { json_schema?: { name?: string } } | null;
  if (format?.json_schema?.name !== 'judge_verdict') return undefined;
  const revised = call.messages.some((m) => m.content.includes('Be specific.'));
  return JSON.stringify({ score: revised ? 0.9 : 0.6, categories: { clarity: revised ? 0.9 : 0.6 }, violations: [], feedback: revised ? 'Good.' : 'Be specific.' });
}

/**
 * Replay, fork and diff across every service (docs/replay.md): runs against the model
 * simulator, whose request log says exactly which model calls each replay made.
 */
describe('replay, fork and diff', () => {
  let ctx: TestPlatform;
  const adminToken = `admin-${uniqueToken()}-token`;

  const chain = {
    version: 1,
    name: 'chain',
    inputs: { topic: { type: 'string', required: true }, tone: { type: 'string', default: 'dry' } },
    steps: {
      a: { prompt: 'Name one thing about {{ inputs.topic }}.' },
      b: { depends_on: ['a'], prompt: 'Write two lines about {{ steps.a.output }} in a {{ inputs.tone }} tone.' },
      c: { depends_on: ['b'], prompt: 'Summarise: {{ steps.b.output }}' },
    },
  };
  const templated = {
    version: 1,
    name: 'templated',
    inputs: { topic: { type: 'string', required: true } },
    steps: {
      intro: { prompt: 'Introduce {{ inputs.topic }}.' },
      greet: { template: 'greeting@production', with: { who: '{{ inputs.topic }}' } },
      close: { depends_on: ['greet'], prompt: 'Close after: {{ steps.greet.output }}' },
    },
  };

  /** The simulator's requests while `work` runs, by the step each came from (its prompt's first words). */
  async function modelCallsDuring<T>(work: () => Promise<T>): Promise<{ value: T; prompts: string[] }> {
    const before = ctx.simulator.requests().length;
    const value = await work();
    const prompts = ctx.simulator.requests().slice(before).map((r) => r.messages.filter((m) => m.role === 'user').at(-1)?.content ?? '');
    return { value, prompts };
  }

  const start = async (pipeline: string, inputs: Record<string, unknown>): Promise<RunView> => {
    const res = await ctx.api.post('/v1/runs', { pipeline, inputs });
    expect(res.status).toBe(202);
    return ctx.api.waitForRun(res.body.id);
  };
  const replay = async (runId: string, body: Record<string, unknown>): Promise<RunView> => {
    const res = await ctx.api.post<RunView>(`/v1/runs/${runId}/replay`, body);
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe(`/v1/runs/${res.body.id}`);
    return ctx.api.waitForRun(res.body.id);
  };
  const diff = async (a: string, b: string): Promise<RunDiff> => {
    const res = await ctx.api.get<RunDiff>(`/v1/runs/${a}/diff/${b}`);
    expect(res.status).toBe(200);
    return res.body;
  };
  const view = async (id: string): Promise<string> => JSON.stringify((await ctx.api.get(`/v1/runs/${id}`)).body);

  let source: RunView;
  let sourceBefore: string;

  beforeAll(async () => {
    ctx = await startTestPlatform({ env: { TRELLIS_ADMIN_TOKEN: adminToken }, simulator: { respond: judge } });
    expect((await ctx.api.post('/v1/pipelines', chain)).status).toBe(201);
    expect((await ctx.api.post('/v1/pipelines', templated)).status).toBe(201);
    expect((await ctx.api.post('/v1/templates', { name: 'greeting', body: 'Say hello to {{ inputs.who }}.' })).status).toBe(201);
    expect((await ctx.api.request('PUT', '/v1/templates/greeting/labels/production', { version: 1 }, { headers: { 'x-trellis-admin-token': adminToken } })).status).toBe(200);
    source = await start('chain', { topic: 'kettles' });
    expect(source.status).toBe('succeeded');
    sourceBefore = await view(source.id);
  }, 90_000);
  afterAll(() => ctx?.stop(), 60_000);

  it('replays a run on its recording with no model request, and the diff says identical', async () => {
    const { value: replayed, prompts } = await modelCallsDuring(() => replay(source.id, { mode: 'recorded' }));
    expect(prompts).toEqual([]);
    expect(replayed).toMatchObject({ status: 'succeeded', source: { run: source.id, from: null, mode: 'recorded' } });
    expect(replayed.steps.map((s) => [s.id, s.status, s.recorded])).toEqual([
      ['a', 'succeeded', true],
      ['b', 'succeeded', true],
      ['c', 'succeeded', true],
    ]);
    const d = await diff(source.id, replayed.id);
    expect(d.summary).toEqual({ identical: true, changed: [], added: [], removed: [] });
  });

  it('forks from the middle step with an input override: only the middle and last steps call the model, and the diff names them', async () => {
    const { value: fork, prompts } = await modelCallsDuring(() => replay(source.id, { mode: 'recorded_else_live', from: 'b', overrides: { inputs: { tone: 'warm' } } }));
    expect(prompts.map((p) => p.split(' ')[0])).toEqual(['Write', 'Summarise:']);
    expect(prompts[0]).toContain('in a warm tone');
    expect(fork.steps.map((s) => [s.id, s.status, s.reused])).toEqual([
      ['a', 'succeeded', true],
      ['b', 'succeeded', false],
      ['c', 'succeeded', false],
    ]);
    const d = await diff(source.id, fork.id);
    expect(d.summary).toEqual({ identical: false, changed: ['b', 'c'], added: [], removed: [] });
    expect(d.steps[1]!.prompt.patch).toContain('+Write two lines about');
    expect(d.steps[1]!.prompt.patch).toContain('warm tone');

    const sse = (await ctx.api.get<string>(`/v1/runs/${fork.id}/events`)).body;
    const events = sse
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => JSON.parse(line.slice(6)) as { type: string; data: Record<string, unknown> });
    expect(events.find((e) => e.type === 'dev.trellis.run.started')?.data.source).toEqual({ run: source.id, from: 'b', mode: 'recorded_else_live' });
    expect(events.filter((e) => e.type === 'dev.trellis.step.completed' && e.data.reused === true).map((e) => e.data.stepId)).toEqual(['a']);
  });

  it('re-runs only the steps that render an overridden template, and what follows them', async () => {
    const run = await start('templated', { topic: 'teapots' });
    expect((await ctx.api.post('/v1/templates', { name: 'greeting', body: 'Greetings, {{ inputs.who }}!' })).status).toBe(201);
    const { value: fork, prompts } = await modelCallsDuring(() => replay(run.id, { mode: 'recorded_else_live', overrides: { templates: { greeting: '2' } } }));
    expect(prompts).toEqual(['Greetings, teapots!', expect.stringMatching(/^Close after: /)]);
    expect(fork.steps.map((s) => [s.id, s.reused, s.template])).toEqual([
      ['intro', true, null],
      ['greet', false, { name: 'greeting', version: 2 }],
      ['close', false, null],
    ]);
    const d = await diff(run.id, fork.id);
    expect(d.summary.changed).toEqual(['greet', 'close']);
    expect(d.steps.find((s) => s.id === 'greet')!.changed).toEqual(['prompt', 'output', 'template']);
  });

  it('fails a step whose request the recording does not have with replay_miss and the request diff; recorded_else_live calls the model for it', async () => {
    const changed = { ...chain, steps: { ...chain.steps, c: { ...chain.steps.c, prompt: 'Summarise briefly: {{ steps.b.output }}' } } };
    const { value: missed, prompts } = await modelCallsDuring(() => replay(source.id, { mode: 'recorded', overrides: { spec: changed } }));
    expect(prompts).toEqual([]);
    expect(missed.status).toBe('failed');
    const c = missed.steps.find((s) => s.id === 'c')!;
    expect(c.status).toBe('failed');
    expect(c.error?.code).toBe('replay_miss');
    expect(c.error?.message).toContain('-Summarise: ');
    expect(c.error?.message).toContain('+Summarise briefly: ');
    expect(missed.steps.filter((s) => s.reused).map((s) => s.id)).toEqual(['a', 'b']);

    const { value: live, prompts: livePrompts } = await modelCallsDuring(() => replay(source.id, { mode: 'recorded_else_live', overrides: { spec: changed } }));
    expect(live.status).toBe('succeeded');
    expect(livePrompts).toHaveLength(1);
    expect(livePrompts[0]).toMatch(/^Summarise briefly: /);
    expect((await diff(source.id, live.id)).summary.changed).toEqual(['c']);
  });

  it("replays a verification loop on its recording, the judges' answers included, with no model request", async () => {
    const gated = {
      version: 1,
      name: 'judged',
      steps: {
        draft: { prompt: 'Draft a tagline for a kettle.', verify: { gates: [{ judge: { rubric: 'Specific and short.', categories: ['clarity'] } }], iterate: { max: 3 } } },
        polish: { depends_on: ['draft'], prompt: 'Polish: {{ steps.draft.output }}' },
      },
    };
    expect((await ctx.api.post('/v1/pipelines', gated)).status).toBe(201);
    const { value: run, prompts: live } = await modelCallsDuring(() => start('judged', {}));
    expect(run.status).toBe('succeeded');
    expect(run.steps[0]).toMatchObject({ iterationsUsed: 2, score: 0.9 });
    expect(live).toHaveLength(5); // two drafts, two judgements, the polish
    const { value: replayed, prompts } = await modelCallsDuring(() => replay(run.id, { mode: 'recorded' }));
    expect(prompts).toEqual([]);
    expect(replayed.status).toBe('succeeded');
    expect(replayed.steps[0]).toMatchObject({ iterationsUsed: 2, score: 0.9, recorded: true });
    expect((await diff(run.id, replayed.id)).summary.identical).toBe(true);
  });

  it('answers 400 for a replay of a step the pipeline does not have, and 404 for a run of another project', async () => {
    const bad = await ctx.api.post(`/v1/runs/${source.id}/replay`, { mode: 'recorded', from: 'ghost' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ path: 'from' })]);
    expect((await ctx.api.post(`/v1/runs/${source.id}/replay`, { mode: 'sometimes' })).status).toBe(400);
    expect((await ctx.api.post('/v1/runs/00000000-0000-7000-8000-000000000000/replay', { mode: 'recorded' })).status).toBe(404);
  });

  it('records nothing for a project that turned recording off', async () => {
    const admin = new ApiClient(ctx.platform.gatewayUrl, adminToken);
    expect((await admin.post('/v1/projects', { id: 'private' })).body).toMatchObject({ id: 'private', recording: true });
    expect((await admin.request('PATCH', '/v1/projects/private', { recording: false })).body).toMatchObject({ id: 'private', recording: false });
    const api = new ApiClient(ctx.platform.gatewayUrl, (await admin.post('/v1/projects/private/keys', {})).body.key as string);
    expect((await api.post('/v1/pipelines', chain)).status).toBe(201);
    const run = await api.waitForRun((await api.post('/v1/runs', { pipeline: 'chain', inputs: { topic: 'secrets' } })).body.id);
    expect(run).toMatchObject({ status: 'succeeded', recording: false });
    expect((await api.get(`/v1/runs/${run.id}/export`)).body.calls).toEqual([]);
  });

  it('admits a replay as any new run: queued while its project is at its limit (set with its recording in one PATCH), started when a slot frees, answered from the recording', async () => {
    const admin = new ApiClient(ctx.platform.gatewayUrl, adminToken);
    const id = uniqueToken('limited-');
    expect((await admin.post('/v1/projects', { id })).status).toBe(201);
    const patched = await admin.request('PATCH', `/v1/projects/${id}`, { maxRunningRuns: 1, recording: true });
    expect(patched.body).toMatchObject({ id, maxRunningRuns: 1, recording: true });
    const api = new ApiClient(ctx.platform.gatewayUrl, (await admin.post(`/v1/projects/${id}/keys`, {})).body.key as string);
    expect((await api.post('/v1/pipelines', chain)).status).toBe(201);
    const own = await api.waitForRun((await api.post('/v1/runs', { pipeline: 'chain', inputs: { topic: 'queues' } })).body.id);
    expect(own.status).toBe('succeeded');
    // A run that holds the one slot until it is cancelled.
    const blocker = (await api.post<RunView>('/v1/runs', { pipeline: 'chain', inputs: { topic: 'slowness [[sim latency_ms=60000]]' } })).body;
    expect(blocker.status).toBe('running');
    const { value: replayed, prompts } = await modelCallsDuring(async () => {
      const res = await api.post<RunView>(`/v1/runs/${own.id}/replay`, { mode: 'recorded', priority: 5 });
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ status: 'queued', priority: 5, queue: { position: 1 }, source: { run: own.id, mode: 'recorded' } });
      expect((await api.post(`/v1/runs/${blocker.id}/cancel`, {})).status).toBe(200);
      return api.waitForRun(res.body.id);
    });
    expect(replayed).toMatchObject({ status: 'succeeded', startedAt: expect.any(String), usage: { inputTokens: 0, outputTokens: 0 } });
    expect(replayed.steps.map((s) => s.recorded)).toEqual([true, true, true]);
    expect(prompts.filter((p) => p.includes('queues'))).toEqual([]);
  });

  it('leaves the source run byte for byte as it was', async () => {
    expect(await view(source.id)).toBe(sourceBefore);
  });
});
