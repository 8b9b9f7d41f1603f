import { RunQueued, PlannerRpc, RunCompleted, RunStarted, StepCompleted } from '@trellis/contracts';
import { rpcError } from '@trellis/testing';
import { PlannerHarness } from './planner-harness';

/**
 * The planner as its own process, the test playing the gateway and the executors: how a run
 * starts, how step results move it on, routing and failures.
 */
describe('planner: runs', () => {
  let h: PlannerHarness;

  beforeAll(async () => {
    h = await PlannerHarness.start();
  }, 60_000);
  afterAll(() => h?.stop(), 30_000);

  describe('run start (runs.start)', () => {
    const fanIn = {
      version: 1,
      name: 'fan-in',
      inputs: { topic: { type: 'string', required: true } },
      steps: {
        a: { prompt: 'Research {{ inputs.topic }}' },
        b: { prompt: 'Find numbers on {{ inputs.topic }}' },
        c: { prompt: 'Combine {{ steps.a.output }} and {{ steps.b.output }}', depends_on: ['a', 'b'] },
      },
    };

    it('starts a run of an inline spec: its rows, run.started and one step.ready per root step with the inputs in its context', async () => {
      const run = await h.startInline(fanIn, { topic: 'kettles' });
      expect(run).toMatchObject({ project: h.project, pipeline: 'fan-in', pipelineVersion: 0, status: 'running', inputs: { topic: 'kettles' } });
      expect(run.steps.map((s) => [s.id, s.status, s.attempt])).toEqual([
        ['a', 'dispatched', 1],
        ['b', 'dispatched', 1],
        ['c', 'pending', 0],
      ]);

      const a = await h.job(run.id, 'a');
      expect(a).toMatchObject({ project: h.project, attempt: 1, pool: 'default', model: 'gpt-4.1-mini', prompt: 'Research {{ inputs.topic }}', context: { inputs: { topic: 'kettles' }, steps: {} } });
      expect(await h.job(run.id, 'b')).toMatchObject({ attempt: 1, context: { inputs: { topic: 'kettles' }, steps: {} } });
      expect(await h.event(RunStarted, run.id)).toMatchObject({ project: h.project, pipeline: 'fan-in', pipelineVersion: 0, inputs: { topic: 'kettles' }, steps: ['a', 'b', 'c'] });

      expect(await h.runRow(run.id)).toMatchObject({ status: 'running', inputTokens: 0, outputTokens: 0, cost: 0, error: null });
      const steps = await h.stepRows(run.id);
      expect([steps.a?.status, steps.b?.status, steps.c?.status]).toEqual(['dispatched', 'dispatched', 'pending']);
      expect(h.jobsOf(run.id, 'c')).toEqual([]);
    });

    it('starts a run of a registered pipeline by name, at its latest version', async () => {
      const name = h.uniqueName('registered');
      const spec = (prompt: string) => ({ version: 1, name, steps: { only: { prompt } } });
      expect(await h.call(PlannerRpc.registerPipeline, { source: { json: spec('first version') } })).toMatchObject({ name, version: 1 });
      expect(await h.call(PlannerRpc.registerPipeline, { source: { json: spec('second version') } })).toMatchObject({ name, version: 2 });

      const run = await h.call(PlannerRpc.startRun, { pipeline: name, inputs: {} });
      expect(run).toMatchObject({ pipeline: name, pipelineVersion: 2, status: 'running' });
      expect(await h.job(run.id, 'only')).toMatchObject({ attempt: 1, prompt: 'second version' });
      expect(await h.event(RunStarted, run.id)).toMatchObject({ pipeline: name, pipelineVersion: 2 });
    });

    it("refuses a run whose inputs do not fit, naming each input, and starts nothing", async () => {
      const spec = { ...fanIn, name: h.uniqueName('inputs'), inputs: { topic: { type: 'string', required: true }, count: { type: 'integer' } } };
      await expect(h.startInline(spec, { count: 'three', colour: 'red' })).rejects.toMatchObject({
        code: 'invalid_argument',
        issues: expect.arrayContaining([
          expect.objectContaining({ path: ['inputs', 'topic'] }),
          expect.objectContaining({ path: ['inputs', 'count'] }),
          expect.objectContaining({ path: ['inputs', 'colour'] }),
        ]),
      });
      expect((await h.call(PlannerRpc.listRuns, { pipeline: spec.name })).items).toEqual([]);
    });

    it('refuses a spec that does not compile, with the line and column of every problem', async () => {
      const yaml = ['version: 1', 'name: broken', 'steps:', '  a:', '    prompt: "{{ steps.ghost.output }}"', '    depends_on: [b]', '  b:', '    prompt: hi', '    depends_on: [a]', ''].join('\n');
      const err = await rpcError(h.startInline(yaml));
      expect(err.code).toBe('invalid_argument');
      expect(err.issues).toEqual([
        { path: ['steps', 'a', 'prompt'], message: expect.stringContaining('unknown step "ghost"'), line: 5, column: 17 },
        { path: ['steps', 'a', 'depends_on', 0], message: expect.stringContaining('cycle: a → b → a'), line: 6, column: 18 },
      ]);
    });

    it('asks the executors to stream the answers of a run that asked for it', async () => {
      const spec = { version: 1, name: 'streamed', steps: { only: { prompt: 'x' } } };
      const streamed = await h.startInline(spec, {}, { stream: true });
      const plain = await h.startInline(spec);
      expect((await h.job(streamed.id, 'only')).stream).toBe(true);
      expect((await h.job(plain.id, 'only')).stream).toBeUndefined();
    });

    it('answers not_found for a pipeline that was never registered', async () => {
      await expect(h.call(PlannerRpc.startRun, { pipeline: h.uniqueName('never'), inputs: {} })).rejects.toMatchObject({ code: 'not_found' });
    });

    it("queues a run beyond the project's running-runs limit, at its place, and starts it when a slot frees", async () => {
      const project = `quota-${Date.now().toString(36)}`;
      const spec = { version: 1, name: 'quota', steps: { only: { prompt: 'hi' } } };
      const first = await h.call(PlannerRpc.startRun, { project, source: { json: spec }, inputs: {}, maxRunning: 1 });
      const second = await h.call(PlannerRpc.startRun, { project, source: { json: spec }, inputs: {}, maxRunning: 1 });
      expect(first).toMatchObject({ status: 'running', queue: null });
      expect(second).toMatchObject({ status: 'queued', queue: { position: 1 }, startedAt: null });
      expect(await h.event(RunQueued, second.id)).toMatchObject({ position: 1, priority: 3 });
      expect(await h.runRow(second.id)).toMatchObject({ status: 'queued' });
      expect(h.jobsOf(second.id)).toEqual([]);
      // A slot frees when the first ends: the queued run starts, and its first step is dispatched.
      await h.generated(await h.job(first.id, 'only'));
      await h.event(RunCompleted, first.id);
      expect(await h.event(RunStarted, second.id)).toMatchObject({ priority: 3, queuedMs: expect.any(Number) });
      await h.job(second.id, 'only');
      expect(await h.call(PlannerRpc.getRun, { project, runId: second.id })).toMatchObject({ status: 'running', queue: null, startedAt: expect.any(String) });
    });
  });

  describe('step results', () => {
    it("dispatches a step once every dependency succeeded, with their outputs (a JSON output's value) in its context, and ends the run with the usage and cost reported", async () => {
      const run = await h.startInline({
        version: 1,
        name: 'results',
        steps: {
          outline: { prompt: 'Outline it', output: { format: 'json', schema: { type: 'object', required: ['title'] } } },
          facts: { prompt: 'Facts' },
          draft: { prompt: 'Write {{ steps.outline.output.title }} with {{ steps.facts.output }}', depends_on: ['outline', 'facts'] },
        },
      });
      const outline = await h.job(run.id, 'outline');
      expect(outline.output).toMatchObject({ format: 'json', schema: { type: 'object', required: ['title'] } });
      await h.generated(outline, { output: '{"title":"Kettles"}', structured: { title: 'Kettles' }, usage: { inputTokens: 100, outputTokens: 20 }, cost: 0.25 });
      await h.resultsConsumed();
      expect(h.jobsOf(run.id, 'draft')).toEqual([]);
      expect((await h.stepRows(run.id)).draft?.status).toBe('pending');

      await h.generated(await h.job(run.id, 'facts'), { output: 'they boil water', usage: { inputTokens: 50, outputTokens: 10 }, cost: 0.5 });
      const draft = await h.job(run.id, 'draft');
      expect(draft).toMatchObject({ attempt: 1, context: { inputs: {}, steps: { outline: { output: { title: 'Kettles' } }, facts: { output: 'they boil water' } } } });
      await h.generated(draft, { output: 'A brief.', usage: { inputTokens: 7, outputTokens: 3 }, cost: 0.125 });

      expect(await h.event(RunCompleted, run.id)).toMatchObject({ status: 'succeeded', usage: { inputTokens: 157, outputTokens: 33 }, cost: 0.875 });
      const completed = h.eventsOf(StepCompleted, run.id);
      expect(completed.map((c) => [c.stepId, c.status, c.attempt, c.output])).toEqual([
        ['outline', 'succeeded', 1, '{"title":"Kettles"}'],
        ['facts', 'succeeded', 1, 'they boil water'],
        ['draft', 'succeeded', 1, 'A brief.'],
      ]);
      expect(await h.runRow(run.id)).toMatchObject({ status: 'succeeded', error: null, inputTokens: 157, outputTokens: 33, cost: 0.875 });
      const steps = await h.stepRows(run.id);
      expect(steps.outline).toMatchObject({ status: 'succeeded', attempt: 1, output: '{"title":"Kettles"}', structured: { title: 'Kettles' } });
      expect(steps.draft).toMatchObject({ status: 'succeeded', attempt: 1, output: 'A brief.', structured: null });
    });

    it('stores the products built from the outputs when the run succeeds, and lists them on the run', async () => {
      const run = await h.startInline({
        version: 1,
        name: 'products',
        steps: { outline: { prompt: 'o', output: { format: 'json' } }, draft: { prompt: 'd', depends_on: ['outline'] } },
        products: [
          { path: 'brief.md', from: '# {{ steps.outline.output.title }}\n\n{{ steps.draft.output }}' },
          { path: 'data/outline.json', format: 'json', from: 'steps.outline.output' },
        ],
      });
      await h.generated(await h.job(run.id, 'outline'), { output: '{"title":"Kettles"}', structured: { title: 'Kettles' } });
      await h.generated(await h.job(run.id, 'draft'), { output: 'A brief.' });
      await h.event(RunCompleted, run.id);
      expect(await h.product(run.id, 'brief.md')).toBe('# Kettles\n\nA brief.');
      expect(await h.product(run.id, 'data/outline.json')).toBe(JSON.stringify({ title: 'Kettles' }, null, 2));
      expect((await h.call(PlannerRpc.getRun, { runId: run.id })).products).toEqual([
        { path: 'brief.md', contentType: 'text/markdown; charset=utf-8', size: Buffer.byteLength('# Kettles\n\nA brief.') },
        { path: 'data/outline.json', contentType: 'application/json', size: Buffer.byteLength(JSON.stringify({ title: 'Kettles' }, null, 2)) },
      ]);
    });

    it('gives a step the output of an indirect upstream step its prompt reads', async () => {
      const run = await h.startInline({
        version: 1,
        name: 'chain',
        steps: { a: { prompt: 'a' }, b: { prompt: 'b', depends_on: ['a'] }, c: { prompt: 'Use {{ steps.a.output }}', depends_on: ['b'] } },
      });
      await h.generated(await h.job(run.id, 'a'), { output: 'from a' });
      const b = await h.job(run.id, 'b');
      expect(b.context.steps).toEqual({ a: { output: 'from a' } });
      await h.generated(b, { output: 'from b' });
      expect((await h.job(run.id, 'c')).context.steps).toMatchObject({ a: { output: 'from a' }, b: { output: 'from b' } });
    });
  });

  describe('routing', () => {
    // b runs only when a says "go"; otherwise its on_false, c, runs. d needs b.
    const gated = {
      version: 1,
      name: 'gated',
      steps: {
        a: { prompt: 'Decide' },
        b: { prompt: 'Proceed', depends_on: ['a'], condition: "steps.a.output == 'go'", on_false: 'c' },
        c: { prompt: 'Explain why not' },
        d: { prompt: 'Follow up', depends_on: ['b'] },
      },
    };

    it('skips a step whose condition is false, with the reason, runs its on_false route and skips what depended on it', async () => {
      const run = await h.startInline(gated);
      expect(run.steps.map((s) => [s.id, s.status])).toEqual([
        ['a', 'dispatched'],
        ['b', 'pending'],
        ['c', 'pending'],
        ['d', 'pending'],
      ]);
      await h.generated(await h.job(run.id, 'a'), { output: 'stop' });
      const c = await h.job(run.id, 'c');
      expect(c.attempt).toBe(1);
      expect(await h.event(StepCompleted, run.id, (e) => e.stepId === 'b')).toMatchObject({ status: 'skipped', error: { code: 'condition_false', message: expect.stringContaining("steps.a.output == 'go'") } });
      expect(await h.event(StepCompleted, run.id, (e) => e.stepId === 'd')).toMatchObject({ status: 'skipped', error: { code: 'dependency_not_succeeded', message: expect.stringContaining('"b"') } });
      await h.generated(c);
      expect(await h.event(RunCompleted, run.id)).toMatchObject({ status: 'succeeded' });
      const steps = await h.stepRows(run.id);
      expect(steps.b).toMatchObject({ status: 'skipped', attempt: 0, error: { code: 'condition_false' } });
      expect(steps.d).toMatchObject({ status: 'skipped', error: { code: 'dependency_not_succeeded' } });
      expect(h.jobsOf(run.id, 'b')).toEqual([]);
      expect(h.jobsOf(run.id, 'd')).toEqual([]);
    });

    it('runs a step whose condition holds and skips the routed step no route fired into', async () => {
      const run = await h.startInline(gated);
      await h.generated(await h.job(run.id, 'a'), { output: 'go' });
      await h.generated(await h.job(run.id, 'b'), { output: 'went' });
      expect(await h.event(StepCompleted, run.id, (e) => e.stepId === 'c')).toMatchObject({ status: 'skipped', error: { code: 'not_routed' } });
      const d = await h.job(run.id, 'd');
      expect(d.context.steps).toMatchObject({ b: { output: 'went' } });
      await h.generated(d);
      expect(await h.event(RunCompleted, run.id)).toMatchObject({ status: 'succeeded' });
      expect(h.jobsOf(run.id, 'c')).toEqual([]);
    });

    it('fires on_success when a step succeeds and on_failure when it fails; a handled failure lets the run succeed', async () => {
      const run = await h.startInline({
        version: 1,
        name: 'routes',
        steps: {
          good: { prompt: 'Try', on_success: 'celebrate' },
          celebrate: { prompt: 'Celebrate {{ steps.good.output }}' },
          risky: { prompt: 'Risk it', on_failure: 'rescue' },
          rescue: { prompt: 'Rescue' },
          after: { prompt: 'After', depends_on: ['risky'] },
        },
      });
      await h.generated(await h.job(run.id, 'good'), { output: 'it worked' });
      const celebrate = await h.job(run.id, 'celebrate');
      expect(celebrate.context.steps).toEqual({ good: { output: 'it worked' } });

      await h.failed(await h.job(run.id, 'risky'), { code: 'llm.bad_request', message: 'the model refused' });
      const rescue = await h.job(run.id, 'rescue');
      expect(await h.event(StepCompleted, run.id, (e) => e.stepId === 'risky')).toMatchObject({ status: 'failed', error: { code: 'llm.bad_request', message: 'the model refused' } });
      expect(await h.event(StepCompleted, run.id, (e) => e.stepId === 'after')).toMatchObject({ status: 'skipped', error: { code: 'dependency_not_succeeded' } });

      await h.generated(celebrate);
      await h.generated(rescue);
      expect(await h.event(RunCompleted, run.id)).toMatchObject({ status: 'succeeded' });
      expect(h.jobsOf(run.id, 'rescue')).toHaveLength(1);
      const steps = await h.stepRows(run.id);
      expect(steps.risky).toMatchObject({ status: 'failed', attempt: 1, error: { code: 'llm.bad_request', message: 'the model refused', retryable: false } });
      expect(steps.rescue).toMatchObject({ status: 'succeeded' });
    });

    it('fails the run at the first unhandled failure: steps in flight cancelled, pending ones skipped, the error on the run', async () => {
      const run = await h.startInline({
        version: 1,
        name: 'fail-fast',
        steps: { a: { prompt: 'a' }, b: { prompt: 'b' }, c: { prompt: 'c', depends_on: ['a', 'b'] } },
      });
      const a = await h.job(run.id, 'a');
      await h.failed(await h.job(run.id, 'b'), { code: 'llm.provider_unavailable', message: 'gave up after 3 tries', retryable: true });
      expect(await h.event(RunCompleted, run.id)).toMatchObject({ status: 'failed', error: { code: 'llm.provider_unavailable', message: 'gave up after 3 tries' } });
      const completed = h.eventsOf(StepCompleted, run.id);
      expect(completed.find((c) => c.stepId === 'a')).toMatchObject({ status: 'cancelled', attempt: 1 });
      expect(completed.find((c) => c.stepId === 'c')).toMatchObject({ status: 'skipped', error: { code: 'run_failed' } });
      expect(await h.runRow(run.id)).toMatchObject({ status: 'failed', error: { code: 'llm.provider_unavailable' } });

      // The cancelled step's late result changes nothing.
      await h.generated(a);
      await h.resultsConsumed();
      expect(await h.runRow(run.id)).toMatchObject({ status: 'failed', inputTokens: 0 });
      expect((await h.stepRows(run.id)).a).toMatchObject({ status: 'cancelled', output: null });
      expect(h.eventsOf(StepCompleted, run.id)).toHaveLength(3);
    });
  });
});
