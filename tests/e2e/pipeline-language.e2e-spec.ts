import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunView, StepGenerated } from '@trellis/contracts';
import { REPO_ROOT, startTestPlatform, waitFor, modelCalls, type TestPlatform } from '@trellis/testing';
import { readSse } from '../../apps/gateway/test/sse-client';

/**
 * Pipeline language v1 through the whole platform: the examples as they are, routing and
 * conditions, structured outputs, products, cancel and resume, and compile errors that stop
 * a spec before a single token is spent.
 */
describe('pipeline language', () => {
  let ctx: TestPlatform;

  beforeAll(async () => {
    ctx = await startTestPlatform();
  }, 60_000);
  afterAll(() => ctx?.stop(), 60_000);

  const example = (name: string) => readFileSync(join(REPO_ROOT, 'examples', `${name}.yaml`), 'utf8');
  const step = (run: RunView, id: string) => run.steps.find((s) => s.id === id)!;
  const runExample = async (name: string, inputs: Record<string, unknown> = {}): Promise<RunView> => {
    const registered = await ctx.api.post('/v1/pipelines', example(name), { contentType: 'application/yaml' });
    expect(registered.status).toBe(201);
    const started = await ctx.api.post('/v1/runs', { pipeline: registered.body.name, inputs });
    expect(started.status).toBe(202);
    return ctx.api.waitForRun(started.body.id, 60_000);
  };
  const runInline = async (spec: Record<string, unknown>, inputs: Record<string, unknown> = {}) => {
    const started = await ctx.api.post('/v1/runs', { spec: { version: 1, name: 'inline', ...spec }, inputs });
    expect(started.status).toBe(202);
    return started.body.id as string;
  };

  describe('the examples, as they are', () => {
    it('product-brief: structured outline, gated draft, conditional tool step, products', async () => {
      const run = await runExample('product-brief', { idea: 'a solar kettle' });
      expect(run.status).toBe('succeeded');
      expect(step(run, 'outline').structured).toEqual(expect.objectContaining({ title: expect.any(String), sections: expect.any(Array) }));
      expect(step(run, 'draft')).toMatchObject({ status: 'succeeded', score: 1 });
      expect(step(run, 'publish').structured).toMatchObject({ published: true });
      expect(step(run, 'apologize')).toMatchObject({ status: 'skipped', error: expect.objectContaining({ code: 'not_routed' }) });
      expect(step(run, 'outline').messages?.[0]).toMatchObject({ role: 'system', content: expect.stringContaining('product strategist') });
      expect(run.products.map((p) => p.path)).toEqual(['brief.md', 'data/outline.json']);
      // Served by the gateway, as built from the outputs.
      const brief = await ctx.api.get(`/v1/runs/${run.id}/products/brief.md`);
      expect(brief.status).toBe(200);
      expect(brief.headers.get('content-type')).toContain('text/markdown');
      expect(brief.body).toBe(`# ${(step(run, 'outline').structured as { title: string }).title}\n\n${step(run, 'draft').output}`);
      const outline = await ctx.api.get(`/v1/runs/${run.id}/products/data/outline.json`);
      expect(outline.body).toEqual(step(run, 'outline').structured);
      expect((await ctx.api.get(`/v1/runs/${run.id}/products/../../etc/passwd`)).status).toBe(404);
    });

    it('support-triage: a JSON classification routes the ticket with a CEL condition', async () => {
      const run = await runExample('support-triage', { ticket: 'The dashboard is down for everyone.' });
      expect(run.status).toBe('succeeded');
      const classification = step(run, 'classify').structured as { urgency: string };
      const escalated = classification.urgency === 'high';
      expect(step(run, 'escalate').status).toBe(escalated ? 'succeeded' : 'skipped');
      expect(step(run, 'reply').status).toBe(escalated ? 'skipped' : 'succeeded');
      expect(run.products).toEqual([expect.objectContaining({ path: 'triage.json', contentType: 'application/json' })]);
    });

    it('support-triage: an enterprise customer is always escalated', async () => {
      const run = await runExample('support-triage', { ticket: 'How do I export data?', customer_tier: 'enterprise' });
      expect(step(run, 'escalate').status).toBe('succeeded');
    });

    it('release-notes: a chain with defaults and three products', async () => {
      const run = await runExample('release-notes', { version: '2.4.0', changes: ['add SSO', 'fix login loop', 'drop Node 18'] });
      expect(run.status).toBe('succeeded');
      expect(step(run, 'group').messages?.at(-1)?.content).toContain('- drop Node 18');
      expect(run.products.map((p) => [p.path, p.contentType])).toEqual([
        ['RELEASE-NOTES.md', 'text/markdown; charset=utf-8'],
        ['changes.csv', 'text/csv; charset=utf-8'],
        ['announce.txt', 'text/plain; charset=utf-8'],
      ]);
      // The CSV is written from the step's rows: a header, then one CRLF-ended record per row.
      const rows = (step(run, 'table').structured as { rows: Array<{ kind: string; summary: string }> }).rows;
      expect(rows.length).toBeGreaterThan(0);
      const csv = await ctx.api.get(`/v1/runs/${run.id}/products/changes.csv`);
      expect(csv.status).toBe(200);
      expect(csv.body).toBe(['kind,summary', ...rows.map((r) => `${r.kind},${r.summary}`), ''].join('\r\n'));
    });

    it('translate-review: an accepted translation takes on_success; the fallback never runs', async () => {
      const run = await runExample('translate-review', { text: 'The quick brown fox jumps over the lazy dog.' });
      expect(run.status).toBe('succeeded');
      expect(run.steps.map((s) => [s.id, s.status])).toEqual([
        ['translate', 'succeeded'],
        ['done', 'succeeded'],
        ['fallback', 'skipped'],
      ]);
    });

    it('fan-out-fan-in runs too', async () => {
      expect((await runExample('fan-out-fan-in')).status).toBe('succeeded');
    });

    it('pitch-lab: a registry template step, a judged loop keeping its examples, escalation and the orchestrator analysis', async () => {
      // Its template first, as the example says: `trellis templates push examples/templates`.
      const push = spawnSync(process.execPath, [join(REPO_ROOT, 'dist/apps/cli/src/main.js'), 'templates', 'push', 'examples/templates'], {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH, TRELLIS_URL: ctx.platform.gatewayUrl, TRELLIS_API_KEY: ctx.apiKey },
        encoding: 'utf8',
      });
      expect(push.status).toBe(0);
      const run = await runExample('pitch-lab', { product: 'a solar kettle' });
      expect(run.status).toBe('succeeded');
      expect(run.templates.map((t) => [t.ref, t.category])).toEqual([
        ['pitch-facts', 'prompt'],
        ['standard', 'personality'],
        ['trellis.judge', 'judge'],
        ['trellis.feedback', 'orchestration'],
      ]);
      expect(step(run, 'facts')).toMatchObject({ status: 'succeeded', parameters: { temperature: 0.2, max_tokens: 400 } });
      expect(step(run, 'pitch')).toMatchObject({ status: 'succeeded', model: 'gpt-4.1-mini', structured: expect.objectContaining({ examples: expect.any(Array) }) });
      expect((await ctx.api.get('/v1/pipelines/pitch-lab')).body.analysis).toMatchObject({ model: 'gpt-4.1' });
    });
  });

  describe('routing', () => {
    it('takes on_false when a condition is false, skipping what depended on the skipped step', async () => {
      const id = await runInline({
        inputs: { go: { type: 'boolean', default: false } },
        steps: {
          check: { prompt: 'check' },
          act: { prompt: 'act', depends_on: ['check'], condition: 'inputs.go', on_false: 'explain' },
          after: { prompt: 'after {{ steps.act.output }}', depends_on: ['act'] },
          explain: { prompt: 'explain why not' },
        },
      });
      const run = await ctx.api.waitForRun(id);
      expect(run.status).toBe('succeeded');
      expect(run.steps.map((s) => [s.id, s.status, s.error?.code ?? null])).toEqual([
        ['check', 'succeeded', null],
        ['act', 'skipped', 'condition_false'],
        ['after', 'skipped', 'dependency_not_succeeded'],
        ['explain', 'succeeded', null],
      ]);
    });

    it('handles a failure with on_failure and goes on', async () => {
      const id = await runInline({ steps: { risky: { prompt: 'fail [[sim status=400]]', on_failure: 'recover' }, recover: { prompt: 'recover from {{ steps.risky.output }}' } } });
      const run = await ctx.api.waitForRun(id);
      expect(run.status).toBe('succeeded');
      expect(run.steps.map((s) => s.status)).toEqual(['failed', 'succeeded']);
    });
  });

  describe('products', () => {
    it('writes CSV from rows, quoting commas, quotes and line breaks, and lists a product that cannot be CSV with its error', async () => {
      const people = [
        { name: 'Smith, Jane', quote: 'she said "hi"', note: 'line one\nline two', active: true },
        { name: 'Ada', quote: '', note: 'plain', active: false },
      ];
      const id = await runInline({
        steps: { data: { tool: 'transform', with: { expression: 'data', data: { people, nested: [{ name: 'x', tags: ['a', 'b'] }] } } } },
        products: [
          { path: 'people.csv', from: 'steps.data.output.people' },
          { path: 'nested.csv', from: 'steps.data.output.nested' },
        ],
      });
      const run = await ctx.api.waitForRun(id);
      expect(run.status).toBe('succeeded');
      const refusal = 'product "nested.csv" (csv): row 1 of steps.data.output.nested, column "tags", is an array; CSV needs an array of objects whose values are text, numbers, booleans or null';
      expect(run.products).toEqual([
        { path: 'people.csv', contentType: 'text/csv; charset=utf-8', size: expect.any(Number) },
        { path: 'nested.csv', contentType: 'text/csv; charset=utf-8', size: 0, error: refusal },
      ]);
      const csv = await ctx.api.get(`/v1/runs/${id}/products/people.csv`);
      expect(csv.status).toBe(200);
      expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(csv.body).toBe('name,quote,note,active\r\n"Smith, Jane","she said ""hi""","line one\nline two",true\r\nAda,,plain,false\r\n');
      const unbuilt = await ctx.api.get(`/v1/runs/${id}/products/nested.csv`);
      expect(unbuilt.status).toBe(404);
      expect(unbuilt.body.detail).toContain(refusal);
    });
  });

  describe('cancel and resume', () => {
    it('cancels a run in flight: dispatch stops and the step is cancelled', async () => {
      const id = await runInline({ steps: { slow: { prompt: 'slow [[sim latency_ms=5000]]' }, next: { prompt: 'next', depends_on: ['slow'] } } });
      await waitFor('the slow step to reach the model', () => ctx.simulator.requests().some((r) => JSON.stringify(r.messages).includes('slow [[sim latency_ms=5000]]')));
      const cancelled = await ctx.api.post(`/v1/runs/${id}/cancel`);
      expect(cancelled.status).toBe(200);
      expect(cancelled.body).toMatchObject({ status: 'cancelled' });
      expect(cancelled.body.steps.map((s: { status: string }) => s.status)).toEqual(['cancelled', 'skipped']);
      // A second cancel is refused, and nothing changes.
      expect((await ctx.api.post(`/v1/runs/${id}/cancel`)).status).toBe(409);
    });

    it('resumes a failed run, re-running the failed step and reusing completed outputs', async () => {
      const id = await runInline({
        steps: { first: { prompt: 'first of resume' }, flaky: { prompt: 'flaky {{ steps.first.output }} [[sim status=400 times=1]]', depends_on: ['first'] } },
      });
      const failed = await ctx.api.waitForRun(id);
      expect(failed.status).toBe('failed');
      const resumed = await ctx.api.post(`/v1/runs/${id}/resume`);
      expect(resumed.status).toBe(200);
      const run = await ctx.api.waitForRun(id);
      expect(run.status).toBe('succeeded');
      expect(run.steps.map((s) => [s.id, s.attempt])).toEqual([
        ['first', 1],
        ['flaky', 2],
      ]);
      expect(ctx.simulator.requests().filter((r) => JSON.stringify(r.messages).includes('first of resume') && !JSON.stringify(r.messages).includes('flaky'))).toHaveLength(1);
    });
  });

  describe('structured outputs', () => {
    it("asks a model the catalog does not know for its structured-output mode, falls back to instructions where the provider refuses it, and the run's events say which", async () => {
      ctx.simulator.configure({ noResponseFormat: ['refusing-llm'] });
      const schema = { type: 'object', required: ['title'], properties: { title: { type: 'string' } } };
      const output = { format: 'json', schema };
      const id = await runInline({
        steps: {
          outline: { model: 'local-llm', prompt: 'Outline the structured e2e', output },
          first: { model: 'refusing-llm', prompt: `Title after {{ steps.outline.output.title }} [[sim json='{"title":"one"}']]`, output, depends_on: ['outline'] },
          second: { model: 'refusing-llm', prompt: `Title after {{ steps.first.output.title }} [[sim json='{"title":"two"}']]`, output, depends_on: ['first'] },
        },
      });
      const run = await ctx.api.waitForRun(id);
      expect(run.status).toBe('succeeded');
      expect(run.steps.map((s) => [s.id, s.attempt, s.structured])).toEqual([
        ['outline', 1, { title: 'simulated title' }],
        ['first', 1, { title: 'one' }],
        ['second', 1, { title: 'two' }],
      ]);
      expect(step(run, 'second').messages?.at(-1)?.content).toMatch(/^Title after one [\s\S]*JSON Schema/);
      const calls = (model: string) => ctx.simulator.requests().filter((r) => r.model === model).map((r) => [r.status, r.responseFormat?.type ?? null]);
      expect(calls('local-llm')).toEqual([[200, 'json_schema']]);
      expect(calls('refusing-llm')).toEqual([
        [400, 'json_schema'],
        [200, null],
        [200, null],
      ]);

      const events = await readSse(`${ctx.platform.gatewayUrl}/v1/runs/${id}/events`, { authorization: `Bearer ${ctx.apiKey}` });
      const asked = Object.fromEntries(
        events.events
          .filter((e) => e.event === 'dev.trellis.step.generated')
          .map((e) => JSON.parse(e.data).data as StepGenerated)
          .map((g) => [g.stepId, g.structuredOutput]),
      );
      expect(asked).toEqual({
        outline: { mode: 'response_format', type: 'json_schema', strict: false },
        first: { mode: 'instructions', reason: 'rejected', message: expect.stringContaining("'response_format' of type 'json_schema' is not supported") },
        second: { mode: 'instructions', reason: 'remembered', message: expect.stringContaining("'response_format' of type 'json_schema' is not supported") },
      });
    });
  });

  describe('intention and architecture from the orchestrator model', () => {
    const analysed = (name: string, description: string, checkAlignment: boolean) => ({
      version: 1,
      name,
      description,
      orchestrator: { model: 'gpt-4.1', check_alignment: checkAlignment },
      steps: { draft: { prompt: 'draft' }, review: { prompt: 'review {{ steps.draft.output }}', depends_on: ['draft'] } },
    });
    const orchestratorCalls = () => modelCalls(ctx.simulator, { startingWith: 'You review LLM pipelines' });

    it('describes the pipeline once per spec, with a structured answer, and serves it with the pipeline', async () => {
      const first = await ctx.api.post('/v1/pipelines', analysed('analysed', 'Draft and review a text.', false));
      expect(first.status).toBe(201);
      expect(first.body.analysis).toEqual({ intention: expect.any(String), architecture: expect.any(String), aligned: expect.any(Boolean), feedback: expect.any(String), model: 'gpt-4.1' });
      const calls = orchestratorCalls().length;
      expect(orchestratorCalls().at(-1)?.responseFormat).toMatchObject({ type: 'json_schema' });
      // The same spec again (even as a new registration) is answered from the cache.
      expect((await ctx.api.post('/v1/pipelines', analysed('analysed', 'Draft and review a text.', false))).body.analysis).toEqual(first.body.analysis);
      expect(orchestratorCalls().length).toBe(calls);
      expect((await ctx.api.get('/v1/pipelines/analysed')).body.analysis).toEqual(first.body.analysis);
    });

    it('refuses a pipeline whose architecture does not serve its intention, with the feedback, unless overridden', async () => {
      const verdict = JSON.stringify({ intention: 'Publish a reviewed text.', architecture: 'Draft, then review.', aligned: false, feedback: 'Nothing publishes the text: add a publish step after review.' });
      const spec = analysed('misaligned', `Publish a reviewed text. [[sim json='${verdict}']]`, true);
      const refused = await ctx.api.post('/v1/pipelines', spec);
      expect(refused.status).toBe(409);
      expect(refused.body.detail).toContain('add a publish step');
      expect((await ctx.api.get('/v1/pipelines/misaligned')).status).toBe(404);
      const overridden = await ctx.api.post('/v1/pipelines?override_alignment=true', spec);
      expect(overridden.status).toBe(201);
      expect(overridden.body.analysis).toMatchObject({ aligned: false });
    });

    const misaligned = (name: string) => {
      const verdict = JSON.stringify({ intention: 'Publish a reviewed text.', architecture: 'Draft, then review.', aligned: false, feedback: `Nothing publishes ${name}: add a publish step.` });
      return analysed(name, `Publish a reviewed text. [[sim json='${verdict}']]`, true);
    };

    it("checks an inline spec's alignment when a run starts: refused with the feedback and nothing started, unless overridden", async () => {
      const spec = misaligned('inline-misaligned');
      const refused = await ctx.api.post('/v1/runs', { spec });
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ code: 'failed_precondition', detail: expect.stringContaining('Nothing publishes inline-misaligned') });
      expect((await ctx.api.get('/v1/runs?pipeline=inline-misaligned')).body.items).toEqual([]);

      const calls = orchestratorCalls().length;
      const overridden = await ctx.api.post('/v1/runs?override_alignment=true', { spec });
      expect(overridden.status).toBe(202);
      expect((await ctx.api.waitForRun(overridden.body.id)).status).toBe('succeeded');
      // Overridden, the check is not made: the model is not asked again.
      expect(orchestratorCalls().length).toBe(calls);
    });

    it('starts an inline spec the orchestrator model finds aligned', async () => {
      const verdict = JSON.stringify({ intention: 'Draft and review a text.', architecture: 'Draft, then review.', aligned: true, feedback: '' });
      const started = await ctx.api.post('/v1/runs', { spec: analysed('inline-aligned', `Draft and review a text. [[sim json='${verdict}']]`, true) });
      expect(started.status).toBe(202);
    });

    it('checks alignment on validate as registration would, unless overridden; without check_alignment no model is asked', async () => {
      const spec = misaligned('validate-misaligned');
      const refused = await ctx.api.post('/v1/pipelines/validate', spec);
      expect(refused.status).toBe(409);
      expect(refused.body.detail).toContain('Nothing publishes validate-misaligned');
      const overridden = await ctx.api.post('/v1/pipelines/validate?override_alignment=true', spec);
      expect(overridden.status).toBe(200);
      expect(overridden.body.batches).toEqual([['draft'], ['review']]);
      expect((await ctx.api.get('/v1/pipelines/validate-misaligned')).status).toBe(404);

      const calls = orchestratorCalls().length;
      expect((await ctx.api.post('/v1/pipelines/validate', analysed('validate-unchecked', 'Draft and review a text.', false))).status).toBe(200);
      expect(orchestratorCalls().length).toBe(calls);
    });

    it('reads override_alignment strictly on every path', async () => {
      for (const path of ['/v1/pipelines?override_alignment=yes', '/v1/pipelines/validate?override_alignment=yes', '/v1/runs?override_alignment=yes']) {
        const res = await ctx.api.post(path, path.startsWith('/v1/runs') ? { spec: misaligned('strict') } : misaligned('strict'));
        expect(res.status).toBe(400);
        expect(res.body.errors).toEqual([expect.objectContaining({ path: 'override_alignment' })]);
      }
    });
  });

  describe('compile errors, before a token is spent', () => {
    const validate = (yaml: string) => ctx.api.post('/v1/pipelines/validate', yaml, { contentType: 'application/yaml' });
    const errorsOf = async (yaml: string) => {
      const res = await validate(yaml);
      expect(res.status).toBe(400);
      return res.body.errors as Array<{ path: string; message: string; line?: number; column?: number }>;
    };

    it.each([
      ['an unknown input in a template', ['version: 1', 'name: x', 'steps:', '  a: { prompt: "{{ inputs.nope }}" }'], 'unknown input "nope"', 4],
      ['a routing loop', ['version: 1', 'name: x', 'steps:', '  a: { prompt: a, on_success: b }', '  b: { prompt: b, on_success: a }'], 'routing loop', 4],
      ['a product path that leaves the run', ['version: 1', 'name: x', 'steps:', '  a: { prompt: a }', 'products:', '  - { path: ../../etc/passwd, from: steps.a.output }'], 'leaves the run', 6],
      ['a condition that does not parse', ['version: 1', 'name: x', 'steps:', '  a: { prompt: a }', '  b: { prompt: b, depends_on: [a], condition: "steps.a.score >=" }'], 'does not parse', 5],
      ['a condition calling host code', ['version: 1', 'name: x', 'steps:', '  a: { prompt: a, condition: "process.mainModule.require(\'fs\')" }'], 'unknown function', 4],
      ['an unknown route target', ['version: 1', 'name: x', 'steps:', '  a: { prompt: a, on_failure: nowhere }'], 'unknown step "nowhere"', 4],
    ])('reports %s with its line', async (_name, lines, message, line) => {
      const errors = await errorsOf(lines.join('\n'));
      expect(errors).toEqual(expect.arrayContaining([expect.objectContaining({ message: expect.stringContaining(message), line })]));
    });

    it('refuses to run a spec with a cycle, a traversal product path or host code, and nothing runs', async () => {
      const before = ctx.simulator.requests().length;
      const listed = (await ctx.api.get('/v1/runs?limit=200')).body.items.length;
      for (const spec of [
        { steps: { a: { prompt: 'a', depends_on: ['b'] }, b: { prompt: 'b', depends_on: ['a'] } } },
        { steps: { a: { prompt: 'a' } }, products: [{ path: '/etc/passwd', from: 'steps.a.output' }] },
        { steps: { a: { prompt: 'a', condition: "process.exit(1)" } } },
      ]) {
        const res = await ctx.api.post('/v1/runs', { spec: { version: 1, name: 'refused', ...spec } });
        expect(res.status).toBe(400);
      }
      expect((await ctx.api.get('/v1/runs?limit=200')).body.items.length).toBe(listed);
      expect(ctx.simulator.requests().length).toBe(before);
    });

    it('shows the plan: batches, critical path, models and why', async () => {
      const res = await validate(example('product-brief'));
      expect(res.status).toBe(200);
      expect(res.body.criticalPath).toEqual(['outline', 'market', 'draft', 'publish', 'apologize']);
      expect(res.body.steps.find((s: { id: string }) => s.id === 'outline')).toMatchObject({ model: 'gpt-4.1', modelReason: expect.stringContaining('research') });
      expect(res.body.steps.find((s: { id: string }) => s.id === 'publish')).toMatchObject({ kind: 'tool', condition: 'steps.draft.score >= 0.8' });
    });
  });
});
