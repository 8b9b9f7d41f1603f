import type { RunView } from '@trellis/contracts';
import { startTestPlatform, modelCalls, type TestPlatform } from '@trellis/testing';
import { ApiClient } from '@trellis/testing';

/**
 * The REST surface of the spine through the whole platform: auth, validation with YAML
 * positions, inline specs, failures that retry and failures that do not, and gates.
 */
describe('gateway REST API', () => {
  let ctx: TestPlatform;

  beforeAll(async () => {
    ctx = await startTestPlatform();
  }, 60_000);
  afterAll(() => ctx?.stop(), 60_000);

  const inline = (steps: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    spec: { version: 1, name: 'inline-test', steps, ...extra },
  });
  const runInline = async (steps: Record<string, unknown>, extra: Record<string, unknown> = {}, inputs: Record<string, unknown> = {}): Promise<RunView> => {
    const started = await ctx.api.post('/v1/runs', { ...inline(steps, extra), inputs });
    expect(started.status).toBe(202);
    return ctx.api.waitForRun(started.body.id);
  };

  describe('authentication', () => {
    it('answers 401 with problem+json without a key, or with a wrong one', async () => {
      for (const key of [undefined, 'not-the-key-at-all']) {
        const res = await new ApiClient(ctx.platform.gatewayUrl, key).get('/v1/runs');
        expect(res.status).toBe(401);
        expect(res.headers.get('content-type')).toContain('application/problem+json');
        expect(res.headers.get('www-authenticate')).toBe('Bearer');
        expect(res.body).toMatchObject({ status: 401, code: 'unauthenticated' });
      }
    });

    it('serves health and readiness without a key', async () => {
      expect((await new ApiClient(ctx.platform.gatewayUrl, undefined).get('/healthz')).status).toBe(200);
      const ready = await new ApiClient(ctx.platform.gatewayUrl, undefined).get('/readyz');
      expect(ready.status).toBe(200);
      expect(ready.body.checks).toMatchObject({ nats: true });
    });
  });

  describe('pipeline validation', () => {
    it('lists every problem with its YAML line and column, and stores nothing', async () => {
      const yaml = [
        'version: 1',
        'name: broken',
        'steps:',
        '  a:',
        '    prompt: "first {{ steps.c.output }}"',
        '    depends_on: [c]',
        '  b:',
        '    prompt: second',
        '    depends_on: [a, ghost]',
        '    colour: blue',
        '  c:',
        '    prompt: third',
        '    depends_on: [b]',
      ].join('\n');
      for (const path of ['/v1/pipelines/validate', '/v1/pipelines']) {
        const res = await ctx.api.post(path, yaml, { contentType: 'application/yaml' });
        expect(res.status).toBe(400);
        expect(res.headers.get('content-type')).toContain('application/problem+json');
        const errors: Array<{ path: string; message: string; line?: number; column?: number }> = res.body.errors;
        const unknownField = errors.find((e) => e.message.includes('colour'));
        expect(unknownField).toMatchObject({ line: 10, column: 5 });
        const ghost = errors.find((e) => e.message.includes('ghost'));
        expect(ghost).toMatchObject({ line: 9 });
        const cycle = errors.find((e) => /cycle/i.test(e.message));
        expect(cycle?.message).toMatch(/a/);
        expect(cycle?.message).toMatch(/b/);
        expect(cycle?.message).toMatch(/c/);
      }
      expect((await ctx.api.get('/v1/pipelines/broken')).status).toBe(404);
    });

    it('points at the line and column of malformed YAML', async () => {
      const res = await ctx.api.post('/v1/pipelines/validate', 'version: 1\nname: x\nsteps:\n  a: {prompt: "unclosed\n', { contentType: 'application/yaml' });
      expect(res.status).toBe(400);
      expect(res.body.errors[0]).toEqual(expect.objectContaining({ line: expect.any(Number), column: expect.any(Number) }));
    });

    it('returns the plan of a valid pipeline', async () => {
      const res = await ctx.api.post('/v1/pipelines/validate', {
        version: 1,
        name: 'diamond',
        steps: { a: { prompt: 'a' }, b: { prompt: 'b', depends_on: ['a'] }, c: { prompt: 'c', depends_on: ['a'] }, d: { prompt: 'd', depends_on: ['b', 'c'] } },
      });
      expect(res.status).toBe(200);
      expect(res.body.batches).toEqual([['a'], ['b', 'c'], ['d']]);
    });
  });

  describe('runs', () => {
    it('rejects unknown body fields and names them', async () => {
      const res = await ctx.api.post('/v1/runs', { pipeline: 'x', priority: 'high' });
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body.errors)).toContain('priority');
    });

    it('rejects a run whose inputs are missing or of the wrong type, naming the input', async () => {
      const spec = inline({ a: { prompt: 'say {{ inputs.topic }}' } }, { inputs: { topic: { type: 'string', required: true }, n: { type: 'integer' } } });
      const res = await ctx.api.post('/v1/runs', { ...spec, inputs: { n: 'three' } });
      expect(res.status).toBe(400);
      const paths = res.body.errors.map((e: { path: string }) => e.path);
      expect(paths).toEqual(expect.arrayContaining(['inputs.topic', 'inputs.n']));
    });

    it('answers 404 for an unknown pipeline or run', async () => {
      expect((await ctx.api.post('/v1/runs', { pipeline: 'no-such-pipeline' })).status).toBe(404);
      expect((await ctx.api.get('/v1/runs/01a1fd4a-0000-7000-8000-000000000000')).status).toBe(404);
    });

    it('runs an inline spec', async () => {
      const run = await runInline({ a: { prompt: 'hello {{ inputs.who }}' } }, { inputs: { who: { type: 'string', required: true } } }, { who: 'inline world' });
      expect(run).toMatchObject({ status: 'succeeded', pipeline: 'inline-test', pipelineVersion: 0 });
      // The `standard` personality is the system message; the prompt is the user message.
      expect(run.steps[0]?.messages?.map((m) => m.role)).toEqual(['system', 'user']);
      expect(run.steps[0]?.messages?.[1]?.content).toBe('hello inline world');
    });

    it('fails a step at once on a non-retryable model error and skips what depends on it', async () => {
      const run = await runInline({ a: { prompt: 'refuse [[sim status=400]]' }, b: { prompt: 'after {{ steps.a.output }}', depends_on: ['a'] } });
      expect(run.status).toBe('failed');
      expect(run.error).toMatchObject({ retryable: false });
      expect(run.steps.find((s) => s.id === 'a')).toMatchObject({ status: 'failed' });
      expect(run.steps.find((s) => s.id === 'b')).toMatchObject({ status: 'skipped' });
      expect(modelCalls(ctx.simulator, { mentioning: 'refuse [[sim status=400]]' })).toHaveLength(1);
    });

    it('retries a retryable model error and completes the run', async () => {
      const run = await runInline({ a: { prompt: 'flaky once [[sim status=503 times=1]]' } });
      expect(run.status).toBe('succeeded');
      expect(modelCalls(ctx.simulator, { mentioning: 'flaky once' })).toHaveLength(2);
    });

    it('accepts an output that passes its gates and fails one that does not', async () => {
      const passing = await runInline({ a: { prompt: 'gated pass', verify: { gates: [{ contains: 'Simulated reply' }, { length: { min: 10 } }] } } });
      expect(passing.status).toBe('succeeded');
      expect(passing.steps[0]?.score).toBe(1);
      const failing = await runInline({ a: { prompt: 'gated fail', verify: { gates: [{ contains: 'banana' }] } } });
      expect(failing.status).toBe('failed');
      expect(failing.steps[0]).toMatchObject({ status: 'failed', score: 0 });
      expect(failing.error?.message).toContain('banana');
    });
  });

  describe('pipelines', () => {
    it('keeps the version when the same spec is registered twice, and lists the pipeline', async () => {
      const spec = { version: 1, name: 'twice', steps: { a: { prompt: 'a' } } };
      const first = await ctx.api.post('/v1/pipelines', spec);
      const second = await ctx.api.post('/v1/pipelines', spec);
      expect([first.status, second.status]).toEqual([201, 201]);
      expect(second.body.version).toBe(first.body.version);
      const changed = await ctx.api.post('/v1/pipelines', { ...spec, description: 'now described' });
      expect(changed.body.version).toBe(first.body.version + 1);
      const list = await ctx.api.get('/v1/pipelines');
      expect(list.body.items).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'twice', version: 2 })]));
      const got = await ctx.api.get('/v1/pipelines/twice');
      expect(got.body).toMatchObject({ name: 'twice', version: 2, description: 'now described', plan: { batches: [['a']] } });
    });
  });
});
