import type { RunView } from '@trellis/contracts';
import type { SimulatedRequest, SimulatorOptions } from '@trellis/llm';
import { ApiClient, modelCalls, startTestPlatform, uniqueToken, waitFor, type TestPlatform } from '@trellis/testing';

type SimulatedCall = Parameters<NonNullable<SimulatorOptions['respond']>>[0];
const formatName = (format: Record<string, unknown> | null) => (format as { json_schema?: { name?: string } } | null)?.json_schema?.name;
const schemaOf = (r: SimulatedRequest) => (r.responseFormat as { json_schema?: { schema?: { properties?: Record<string, unknown> } } }).json_schema?.schema;

/**
 * The model's answers. The judge accepts at once, except for the reuse scenario's first round,
 * which it sends back about the title only; the `brief` step (reuse) answers round 1 with its
 * examples and a later round with whatever its response schema asks for.
 */
function respond(call: SimulatedCall): string | undefined {
  const text = call.messages.map((m) => m.content).join('\n');
  if (formatName(call.responseFormat) === 'judge_verdict') {
    const firstRound = text.includes('Reuse scenario') && !text.includes('Keep examples as they are');
    return JSON.stringify(
      firstRound
        ? { score: 0.5, categories: {}, violations: [{ rule: 'clarity', severity: 'major', message: 'the title is vague' }], feedback: 'Make the title concrete.' }
        : { score: 0.9, categories: {}, violations: [], feedback: 'Good.' },
    );
  }
  // A provider that refused response_format is asked for the analysis with the schema in the prompt.
  if (!call.responseFormat && text.includes('The JSON must be valid against this JSON Schema') && text.includes('"intention"')) {
    return JSON.stringify({ intention: 'Summarise invoices.', architecture: 'One step.', aligned: true, feedback: '' });
  }
  if (formatName(call.responseFormat) === 'brief') {
    const asked = (call.responseFormat as { json_schema: { schema: { properties: Record<string, unknown> } } }).json_schema.schema.properties;
    return JSON.stringify('examples' in asked ? { title: 'A kettle', examples: ['boils in 90 s', 'runs on sunlight'] } : { title: 'The solar kettle that boils in 90 s' });
  }
  return undefined;
}

/**
 * The orchestrator's own prompts as registry templates, end to end (issue 16): a project's
 * override of the global judge prompt reaches that project's judge requests only, the analysis
 * prompt comes from the registry per feature, a template version's parameters reach the model,
 * an experiment between two temperatures assigns by subject and reports per variant, and a
 * gated step keeps its round-1 examples while later rounds write the rest.
 */
describe('orchestration templates, end to end', () => {
  const adminToken = `admin-${uniqueToken()}-token`;
  const admin = { headers: { 'x-trellis-admin-token': adminToken } };
  let ctx: TestPlatform;
  let alpha: ApiClient;
  let beta: ApiClient;

  const newProject = async (id: string) => {
    const root = new ApiClient(ctx.platform.gatewayUrl, adminToken);
    expect((await root.post('/v1/projects', { id })).status).toBe(201);
    const key = await root.post(`/v1/projects/${id}/keys`, {});
    return new ApiClient(ctx.platform.gatewayUrl, key.body.key);
  };
  const run = async (api: ApiClient, body: Record<string, unknown>): Promise<RunView> => {
    const started = await api.post('/v1/runs', body);
    expect(started.status).toBe(202);
    return api.waitForRun(started.body.id, 60_000);
  };

  beforeAll(async () => {
    ctx = await startTestPlatform({ simulator: { respond }, env: { TRELLIS_ADMIN_TOKEN: adminToken } });
    alpha = await newProject('alpha');
    beta = await newProject('beta');
  }, 60_000);
  afterAll(() => ctx?.stop(), 60_000);

  it("sends a project's override of the global judge prompt on that project's judge requests only, and names the version on the run", async () => {
    const override = await alpha.post('/v1/templates', {
      name: 'trellis.judge',
      category: 'judge',
      body: [
        { role: 'system', content: 'ALPHA JUDGE. Score strictly.' },
        { role: 'user', content: 'Task: {{ inputs.task }}\nRubric: {{ inputs.rubric }}\nAnswer: {{ inputs.candidate }}' },
      ],
    });
    expect(override.status).toBe(201);
    const spec = (who: string) => ({
      version: 1,
      name: 'judged',
      steps: { pitch: { prompt: `Pitch a kettle for ${who}.`, verify: { gates: [{ judge: { rubric: 'Concrete.', categories: [] } }] } } },
    });
    const [a, b] = await Promise.all([run(alpha, { spec: spec('alpha-team') }), run(beta, { spec: spec('beta-team') })]);
    expect([a.status, b.status]).toEqual(['succeeded', 'succeeded']);

    const judgeCalls = (who: string) => modelCalls(ctx.simulator, { mentioning: `for ${who}` }).filter((r) => formatName(r.responseFormat) === 'judge_verdict');
    expect(judgeCalls('alpha-team')).toHaveLength(1);
    expect(judgeCalls('alpha-team')[0]!.messages[0]).toEqual({ role: 'system', content: 'ALPHA JUDGE. Score strictly.' });
    expect(judgeCalls('beta-team')).toHaveLength(1);
    expect(JSON.stringify(judgeCalls('beta-team')[0]!.messages)).not.toContain('ALPHA JUDGE');
    expect(judgeCalls('beta-team')[0]!.messages[0]!.content).toMatch(/^You are a strict, fair reviewer/);

    expect(a.templates.find((t) => t.category === 'judge')).toEqual({ ref: 'trellis.judge', name: 'trellis.judge', category: 'judge', version: 1, label: 'latest', level: 'project', experiment: null });
    expect(b.templates.find((t) => t.category === 'judge')).toMatchObject({ ref: 'trellis.judge', version: 1, label: 'production', level: 'global' });
  });

  it("asks the orchestrator model with the registry's analysis prompt, a feature's override for that feature", async () => {
    const override = await ctx.api.post('/v1/templates', {
      name: 'trellis.analysis',
      category: 'orchestration',
      feature: 'billing',
      body: [
        { role: 'system', content: 'BILLING REVIEWER: describe this pipeline as JSON.' },
        { role: 'user', content: '{{ inputs.spec }}' },
      ],
      parameters: { temperature: 0.3 },
    });
    expect(override.status).toBe(201);
    const spec = { version: 1, name: 'analysed', orchestrator: { model: 'gpt-4.1' }, steps: { a: { prompt: 'Summarise the invoice.' } } };
    const analysisCalls = () => ctx.simulator.requests().filter((r) => formatName(r.responseFormat) === 'pipeline_analysis' && JSON.stringify(r.messages).includes('Summarise the invoice.'));

    expect((await ctx.api.post('/v1/pipelines?feature=billing', spec)).status).toBe(201);
    expect(analysisCalls()).toHaveLength(1);
    expect(analysisCalls()[0]).toMatchObject({ model: 'gpt-4.1', parameters: { temperature: 0.3 } });
    expect(analysisCalls()[0]!.messages[0]!.content).toBe('BILLING REVIEWER: describe this pipeline as JSON.');

    // Without the feature the global prompt answers: another question, asked once and cached.
    const plain = await ctx.api.post('/v1/pipelines', spec);
    expect(plain.status).toBe(201);
    expect(plain.body.analysis).toMatchObject({ model: 'gpt-4.1' });
    expect(analysisCalls()).toHaveLength(2);
    expect(analysisCalls()[1]!.messages[0]!.content).toMatch(/^You review LLM pipelines/);
    expect(analysisCalls()[1]!.parameters).toEqual({ temperature: 0 });
    expect((await ctx.api.post('/v1/pipelines', spec)).status).toBe(201);
    expect(analysisCalls()).toHaveLength(2);
  });

  it("sends a template version's temperature to the model and shows it on the step", async () => {
    expect((await ctx.api.post('/v1/templates', { name: 'cool-greeting', body: 'Greet {{ inputs.who }} warmly.', parameters: { temperature: 0.1 } })).status).toBe(201);
    const done = await run(ctx.api, { spec: { version: 1, name: 'cool', steps: { greet: { template: 'cool-greeting@latest', with: { who: 'Ada Lovelace' } } } } });
    expect(done.status).toBe('succeeded');
    const calls = modelCalls(ctx.simulator, { mentioning: 'Greet Ada Lovelace warmly.' });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.parameters).toEqual({ temperature: 0.1 });
    expect(done.steps[0]!.parameters).toEqual({ temperature: 0.1 });
  });

  it('assigns each subject one of two temperatures, sticky, and reports the results per variant', async () => {
    for (const temperature of [0.1, 0.9]) {
      expect((await ctx.api.post('/v1/templates', { name: 'tone', body: 'Describe {{ inputs.thing }}.', parameters: { temperature } })).status).toBe(201);
    }
    const experiment = await ctx.api.post('/v1/experiments', { template: 'tone', variants: [{ name: 'cold', version: 1 }, { name: 'hot', version: 2 }] }, admin);
    expect(experiment.status).toBe(201);
    const spec = { version: 1, name: 'toned', inputs: { thing: { type: 'string', required: true } }, steps: { describe: { template: 'tone', with: { thing: '{{ inputs.thing }}' }, verify: { gates: [{ length: { min: 1 } }] } } } };
    expect((await ctx.api.post('/v1/pipelines', spec)).status).toBe(201);
    const subjects = Array.from({ length: 10 }, (_, i) => `subject-${i}`);
    const runs = await Promise.all(subjects.map((subject) => run(ctx.api, { pipeline: 'toned', subject, inputs: { thing: `thing of ${subject}` } })));
    const expected = { cold: 0.1, hot: 0.9 };
    const counts = { cold: 0, hot: 0 };
    for (const [i, done] of runs.entries()) {
      expect(done.status).toBe('succeeded');
      const variant = done.templates.find((t) => t.ref === 'tone')!.experiment!.variant as keyof typeof expected;
      counts[variant] += 1;
      const [call] = modelCalls(ctx.simulator, { mentioning: `Describe thing of ${subjects[i]}.` });
      expect(call!.parameters).toEqual({ temperature: expected[variant] });
    }
    const again = await run(ctx.api, { pipeline: 'toned', subject: 'subject-0', inputs: { thing: 'again' } });
    expect(again.templates.find((t) => t.ref === 'tone')!.experiment).toEqual(runs[0]!.templates.find((t) => t.ref === 'tone')!.experiment);
    counts[again.templates.find((t) => t.ref === 'tone')!.experiment!.variant as keyof typeof expected] += 1;

    const results = await waitFor('every run counted', async () => {
      const view = await ctx.api.get(`/v1/experiments/${experiment.body.id}`);
      return view.body.results.every((r: { runsCompleted: number; name: keyof typeof counts }) => r.runsCompleted === counts[r.name]) ? view.body : undefined;
    });
    for (const r of results.results) {
      expect(r).toMatchObject({ runs: counts[r.name as keyof typeof counts], runsSucceeded: counts[r.name as keyof typeof counts], meanIterations: 1 });
      if (r.runs > 0) expect(r).toMatchObject({ stepsVerified: r.runs, acceptanceRate: 1, meanScore: 1, meanOutputTokens: expect.any(Number), meanLatencyMs: expect.any(Number) });
    }
  });

  it('keeps the round-1 examples of a gated step: round 2 is asked for the other fields only, and the output is the merge', async () => {
    const schema = { type: 'object', additionalProperties: false, required: ['title', 'examples'], properties: { title: { type: 'string' }, examples: { type: 'array', items: { type: 'string' } } } };
    const done = await run(ctx.api, {
      spec: {
        version: 1,
        name: 'reuse',
        steps: {
          brief: {
            prompt: 'Reuse scenario: a title and two examples for a solar kettle.',
            output: { format: 'json', schema },
            verify: { gates: ['schema', { judge: { rubric: 'A concrete title.', categories: [] } }], iterate: { max: 3, reuse: ['examples'] } },
          },
        },
      },
    });
    expect(done.status).toBe('succeeded');
    const generations = modelCalls(ctx.simulator, { mentioning: 'Reuse scenario' }).filter((r) => formatName(r.responseFormat) === 'brief');
    expect(generations).toHaveLength(2);
    expect(Object.keys(schemaOf(generations[0]!)!.properties!)).toEqual(['title', 'examples']);
    expect(Object.keys(schemaOf(generations[1]!)!.properties!)).toEqual(['title']);
    expect(generations[1]!.messages.at(-1)!.content).toContain('Keep examples as they are: answer with title only.');

    const step = done.steps[0]!;
    expect(step.structured).toEqual({ title: 'The solar kettle that boils in 90 s', examples: ['boils in 90 s', 'runs on sunlight'] });
    expect(step.iterations.map((i) => [i.iteration, i.verdict, i.reusedFields])).toEqual([
      [1, 'retry', []],
      [2, 'accept', ['examples']],
    ]);
    expect(step.iterations[0]!.outputTokensSaved).toBe(0);
    expect(step.iterations[1]!.outputTokensSaved).toBeGreaterThan(0);
  });
  it('asks an orchestrator model whose provider refuses response_format with the schema in the prompt', async () => {
    ctx.simulator.configure({ noResponseFormat: ['gpt-4.1-mini'] });
    try {
      const spec = { version: 1, name: 'plainly-analysed', orchestrator: { model: 'gpt-4.1-mini' }, steps: { a: { prompt: 'Total the invoice lines.' } } };
      const registered = await ctx.api.post('/v1/pipelines', spec);
      expect(registered.status).toBe(201);
      expect(registered.body.analysis).toMatchObject({ model: 'gpt-4.1-mini', intention: 'Summarise invoices.', aligned: true });
      const calls = ctx.simulator.requests().filter((r) => r.model === 'gpt-4.1-mini' && JSON.stringify(r.messages).includes('Total the invoice lines.'));
      expect(calls.map((r) => [r.status, formatName(r.responseFormat) ?? null])).toEqual([
        [400, 'pipeline_analysis'],
        [200, null],
      ]);
    } finally {
      ctx.simulator.configure({ noResponseFormat: [] });
    }
  });
});
