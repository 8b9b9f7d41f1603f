import type { RunView } from '@trellis/contracts';
import { ApiClient, startTestPlatform, waitFor, type TestPlatform } from '@trellis/testing';

const ADMIN_TOKEN = 'admin-token-for-the-admission-test';

/** The most runs that were running at one moment, from each run's [startedAt, finishedAt). */
function maxOverlap(runs: readonly RunView[]): number {
  const edges = runs.flatMap((r) => [
    { t: Date.parse(r.startedAt!), d: 1 },
    { t: Date.parse(r.finishedAt!), d: -1 },
  ]);
  // An end before a start at the same instant: a slot freed, then taken.
  edges.sort((a, b) => a.t - b.t || a.d - b.d);
  let running = 0;
  let most = 0;
  for (const e of edges) most = Math.max(most, (running += e.d));
  return most;
}

/**
 * Admission and fair dispatch through the gateway (ADR 0014), every service its own process:
 * work is queued, never refused for capacity; limits hold; a small project is not stuck behind a
 * large one's backlog; priorities order a project's work; budgets refuse and say until when.
 */
describe('admission and fair dispatch', () => {
  let ctx: TestPlatform;
  let admin: ApiClient;

  const newProject = async (id: string, settings: Record<string, unknown> = {}) => {
    expect((await admin.post('/v1/projects', { id, ...settings })).status).toBe(201);
    const created = await admin.post(`/v1/projects/${id}/keys`, {});
    expect(created.status).toBe(201);
    return new ApiClient(ctx.platform.gatewayUrl, created.body.key);
  };
  /** Submits runs at once; every one must be accepted. */
  const submit = async (api: ApiClient, bodies: object[]): Promise<RunView[]> => {
    const answers = await Promise.all(bodies.map((b) => api.post<RunView>('/v1/runs', b)));
    expect(answers.map((a) => a.status).filter((s) => s !== 202)).toEqual([]);
    return answers.map((a) => a.body);
  };
  const finished = async (api: ApiClient, runs: readonly RunView[], timeoutMs = 120_000): Promise<RunView[]> =>
    Promise.all(runs.map((r) => api.waitForRun(r.id, timeoutMs)));

  beforeAll(async () => {
    // One executor with 8 slots: with 50 ms steps the executor, not the planner, is the bottleneck,
    // which is when dispatch order matters.
    ctx = await startTestPlatform({ serviceEnv: { gateway: { TRELLIS_ADMIN_TOKEN: ADMIN_TOKEN }, executor: { EXECUTOR_CONCURRENCY: '8' } } });
    admin = new ApiClient(ctx.platform.gatewayUrl, ADMIN_TOKEN);
  }, 60_000);
  afterAll(() => ctx?.stop(), 60_000);

  it('accepts 1,000 runs at once with a limit of 50 running: never more than 50 run, all complete, each step once', async () => {
    const api = await newProject('thousand', { maxRunningRuns: 50 });
    const spec = { version: 1, name: 'small', inputs: { n: { type: 'integer' } }, steps: { a: { prompt: 'first {{ inputs.n }}' }, b: { depends_on: ['a'], prompt: 'then {{ inputs.n }} {{ steps.a.output }}' } } };
    let sampled = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const usage = await api.get('/v1/usage');
        if (usage.status === 200) sampled = Math.max(sampled, usage.body.runs.running);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const runs = await submit(
      api,
      Array.from({ length: 1000 }, (_, n) => ({ spec, inputs: { n } })),
    );
    // Most wait at first; how many depends on how fast the first ones finish while the rest arrive.
    expect(runs.filter((r) => r.status === 'queued').length).toBeGreaterThan(500);
    const done = await finished(api, runs, 300_000);
    sampling = false;
    await sampler;
    expect(done.filter((r) => r.status !== 'succeeded')).toEqual([]);
    expect(sampled).toBeLessThanOrEqual(50);
    expect(maxOverlap(done)).toBeLessThanOrEqual(50);
    // Each step once: one model request per step, and every step at attempt 1.
    const requests = ctx.simulator.requests().filter((q) => /^(first|then) \d+/.test(String(q.messages.at(-1)?.content)));
    expect(requests).toHaveLength(2000);
    expect(done.flatMap((r) => r.steps).filter((s) => s.attempt !== 1)).toEqual([]);
  }, 360_000);

  it("finishes a small project's 5 runs before a quarter of another's backlog of 400 drains, with one executor", async () => {
    const flood = await newProject('flood');
    const small = await newProject('small');
    const spec = (tag: string) => ({ version: 1, name: `fair-${tag}`, steps: { a: { prompt: `${tag} a [[sim latency_ms=50]]` }, b: { depends_on: ['a'], prompt: `${tag} b [[sim latency_ms=50]]` } } });
    const floodRuns = await submit(flood, Array.from({ length: 400 }, () => ({ spec: spec('flood') })));
    // Let the flood fill the executor's queue before the small project arrives.
    await waitFor('the flood to be under way', async () => (await flood.get('/v1/usage')).body.runs.running > 50);
    const arrival = Date.now();
    const smallRuns = await submit(small, Array.from({ length: 5 }, () => ({ spec: spec('small') })));
    const smallDone = await finished(small, smallRuns);
    const lastSmall = Math.max(...smallDone.map((r) => Date.parse(r.finishedAt!)));
    const floodDone = await finished(flood, floodRuns, 300_000);
    expect(smallDone.every((r) => r.status === 'succeeded')).toBe(true);
    expect(floodDone.every((r) => r.status === 'succeeded')).toBe(true);
    // The flood's backlog when the small project arrived, and how much of it drained before the
    // small project's last run finished: order, not wall-clock time.
    const backlog = floodDone.filter((r) => Date.parse(r.finishedAt!) > arrival).length;
    const drained = floodDone.filter((r) => Date.parse(r.finishedAt!) > arrival && Date.parse(r.finishedAt!) <= lastSmall).length;
    expect(backlog).toBeGreaterThan(200);
    expect(drained).toBeLessThan(backlog / 4);
  }, 360_000);

  it('starts a priority-5 run submitted behind 200 priority-3 runs among the next few', async () => {
    const api = await newProject('priorities', { maxRunningRuns: 4 });
    const spec = { version: 1, name: 'prio', steps: { a: { prompt: 'prio [[sim latency_ms=30]]' } } };
    const normal = await submit(api, Array.from({ length: 200 }, () => ({ spec })));
    const [urgent] = await submit(api, [{ spec, priority: 5 }]);
    // First in line: it starts at once if a slot is free this moment, else it is queued first.
    expect(urgent!.status === 'running' || urgent!.queue?.position === 1).toBe(true);
    const queuedThen = new Set((await Promise.all(normal.map((r) => api.get<RunView>(`/v1/runs/${r.id}`)))).filter((r) => r.body.status === 'queued').map((r) => r.body.id));
    const done = await finished(api, [...normal, urgent!], 300_000);
    const urgentStart = Date.parse(done.at(-1)!.startedAt!);
    const overtaken = done.filter((r) => queuedThen.has(r.id) && Date.parse(r.startedAt!) < urgentStart).length;
    // At most the slots that freed together with the one it took.
    expect(overtaken).toBeLessThanOrEqual(4);
  }, 360_000);

  it('never runs more than 2 runs per customer with `concurrency: { max: 2, key: inputs.customer_id }`, and all complete', async () => {
    const api = await newProject('customers');
    const spec = { version: 1, name: 'per-customer', inputs: { customer_id: { type: 'string' } }, concurrency: { max: 2, key: 'inputs.customer_id' }, steps: { a: { prompt: 'serve {{ inputs.customer_id }} [[sim latency_ms=100]]' } } };
    const customers = ['acme', 'globex', 'initech', 'umbrella'];
    const runs = await submit(api, customers.flatMap((c) => Array.from({ length: 6 }, () => ({ spec, inputs: { customer_id: c } }))));
    const done = await finished(api, runs);
    expect(done.every((r) => r.status === 'succeeded')).toBe(true);
    for (const c of customers) expect(maxOverlap(done.filter((r) => r.inputs.customer_id === c))).toBeLessThanOrEqual(2);
  }, 120_000);

  it('refuses a run when the day\'s budget is spent (429, Retry-After the next day, naming the budget) and changes nothing; usage says so', async () => {
    const api = await newProject('budgeted', { maxTokensPerDay: 1 });
    const spec = { version: 1, name: 'budgeted', steps: { a: { prompt: 'spend' } } };
    const [first] = await submit(api, [{ spec }]);
    expect((await api.waitForRun(first!.id)).status).toBe('succeeded');
    const refused = await waitFor('the usage to reach the budget', async () => {
      const r = await api.post('/v1/runs', { spec });
      return r.status === 429 ? r : undefined;
    });
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.body).toMatchObject({ status: 429, code: 'budget_exhausted', errors: [{ path: 'budget.maxTokensPerDay' }] });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(24 * 60 * 60);
    const usage = await api.get('/v1/usage');
    expect(usage.body).toMatchObject({ budget: { maxTokensPerDay: 1 }, runs: { started: 1, queued: 0 } });
    expect((await api.get('/v1/runs')).body.items).toHaveLength(1);
    // The admin lifts the budget: accepted again.
    expect((await admin.request('PATCH', '/v1/projects/budgeted', { maxTokensPerDay: null })).body).toMatchObject({ maxTokensPerDay: null });
    expect((await admin.get('/v1/projects/budgeted')).body).toMatchObject({ id: 'budgeted', usage: { runs: { started: 1 } } });
    expect((await api.post('/v1/runs', { spec })).status).toBe(202);
  }, 60_000);

  it("holds a key to its rate across gateway replicas", async () => {
    const gateway = ctx.platform.get('gateway');
    const second = await ctx.platform.startReplica('gateway');
    try {
      const limited = await newProject('rate');
      const key = (await admin.post('/v1/projects/rate/keys', { rateLimitPerMinute: 4 })).body.key as string;
      const viaFirst = new ApiClient(gateway.url, key);
      const viaSecond = new ApiClient(second.url, key);
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await (i % 2 ? viaSecond : viaFirst).get('/v1/runs')).status);
      expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
      void limited;
    } finally {
      await second.stop();
    }
  }, 60_000);
});
