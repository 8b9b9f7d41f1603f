import { PlannerRpc, RegistryRpc, RunQueued, RunStarted, StepCompleted, type RunView, type StepReady } from '@trellis/contracts';
import { requestHash } from '@trellis/engine';
import { rpcError, uniqueToken, waitFor } from '@trellis/testing';
import { PlannerHarness } from './planner-harness';

/**
 * Recordings, replays, forks, exports and imports (docs/replay.md) with the planner as its
 * own process; the test plays the gateway and the executors.
 */
describe('planner: recordings and replays', () => {
  let h: PlannerHarness;

  beforeAll(async () => {
    h = await PlannerHarness.start();
  }, 60_000);
  afterAll(() => h?.stop(), 30_000);

  const chain = {
    version: 1,
    name: 'chain',
    inputs: { topic: { type: 'string', required: true }, tone: { type: 'string', default: 'dry' } },
    steps: {
      a: { prompt: 'Name a thing about {{ inputs.topic }}', temperature: 0.2 },
      b: { depends_on: ['a'], prompt: 'Write about {{ steps.a.output }} in a {{ inputs.tone }} tone' },
      c: { depends_on: ['b'], prompt: 'Summarise {{ steps.b.output }}' },
    },
  };

  /** Answers a job as an executor would, with the exact request (the prompt as its only message). */
  const answer = (job: StepReady, fields: { output?: string; replayed?: boolean } = {}) =>
    h.generated(job, {
      output: fields.output ?? `${job.stepId} of ${job.runId.slice(-4)}`,
      messages: [{ role: 'user', content: `${job.prompt} (${JSON.stringify(job.context)})` }],
      request: { kind: 'model', model: job.model, params: job.params },
      ...(fields.replayed ? { replayed: true } : {}),
    });

  /** Runs every step of a run to its end, answering each job as it comes. */
  async function finish(run: RunView, replayed = false): Promise<RunView> {
    for (const step of run.steps) {
      const current = await h.call(PlannerRpc.getRun, { project: run.project, runId: run.id });
      const s = current.steps.find((x) => x.id === step.id)!;
      if (s.reused) continue;
      await answer(await h.job(run.id, step.id), { replayed });
    }
    return waitFor('the run to end', async () => {
      const view = await h.call(PlannerRpc.getRun, { project: run.project, runId: run.id });
      return view.status !== 'running' && view;
    });
  }

  let source: RunView;
  let sourceBefore: string;

  beforeAll(async () => {
    source = await finish(await h.startInline(chain, { topic: 'kettles' }));
    sourceBefore = JSON.stringify(source);
  });

  it("records each applied answer with its exact request, in the run's export", async () => {
    const file = await h.call(PlannerRpc.exportRun, { runId: source.id });
    expect(file).toMatchObject({ format: 'trellis.run', version: 1, spec: { name: 'chain' }, run: { id: source.id, status: 'succeeded', recording: true } });
    expect(file.calls.map((c) => [c.stepId, c.attempt, c.iteration])).toEqual([
      ['a', 1, 1],
      ['b', 1, 1],
      ['c', 1, 1],
    ]);
    expect(file.calls[0]).toMatchObject({
      request: { kind: 'model', model: 'gpt-4.1-mini', params: { temperature: 0.2 }, messages: source.steps[0]!.messages },
      answer: { output: source.steps[0]!.output, model: 'gpt-4.1-mini', usage: { inputTokens: 10, outputTokens: 5 }, finishReason: 'stop' },
    });
  });

  it('records nothing for a run whose project does not record', async () => {
    const run = await h.call(PlannerRpc.startRun, { source: { json: chain }, inputs: { topic: 'private' }, recording: false });
    const done = await finish(run);
    expect(done.recording).toBe(false);
    expect((await h.call(PlannerRpc.exportRun, { runId: run.id })).calls).toEqual([]);
  });

  it('replays a whole run on its recording: every job carries the recorded answer, the view its source', async () => {
    const replay = await h.call(PlannerRpc.replayRun, { runId: source.id, mode: 'recorded' });
    expect(replay).toMatchObject({ status: 'running', source: { run: source.id, from: null, mode: 'recorded' }, pipeline: 'chain', inputs: source.inputs });
    expect(await h.event(RunStarted, replay.id)).toMatchObject({ source: { run: source.id, from: null, mode: 'recorded' } });
    const job = await h.job(replay.id, 'a');
    const file = await h.call(PlannerRpc.exportRun, { runId: source.id });
    expect(job.replay).toEqual({ mode: 'recorded', calls: [{ hash: requestHash(file.calls[0]!.request), request: file.calls[0]!.request, answer: file.calls[0]!.answer }] });
    const done = await finish(replay, true);
    expect(done.status).toBe('succeeded');
    expect(done.steps.map((s) => [s.id, s.recorded, s.reused])).toEqual([
      ['a', true, false],
      ['b', true, false],
      ['c', true, false],
    ]);
    // Each step shows what its answer cost when it was made; the run counts what it spent: nothing.
    expect(done.steps.map((s) => s.usage)).toEqual(source.steps.map((s) => s.usage));
    expect(done.usage).toEqual({ inputTokens: 0, outputTokens: 0 });
  });

  it('forks from a step with an input override: the steps before it are carried over, only it and what follows run', async () => {
    const fork = await h.call(PlannerRpc.replayRun, { runId: source.id, mode: 'live', from: 'b', overrides: { inputs: { tone: 'warm' } } });
    expect(fork.steps.map((s) => [s.id, s.status, s.reused])).toEqual([
      ['a', 'succeeded', true],
      ['b', 'dispatched', false],
      ['c', 'pending', false],
    ]);
    expect(fork.steps[0]).toMatchObject({ output: source.steps[0]!.output, usage: source.steps[0]!.usage, messages: source.steps[0]!.messages });
    expect(fork.inputs).toEqual({ topic: 'kettles', tone: 'warm' });
    expect(await h.event(StepCompleted, fork.id, (e) => e.stepId === 'a')).toEqual({ runId: fork.id, stepId: 'a', status: 'succeeded', attempt: 1, output: source.steps[0]!.output, reused: true });
    const b = await h.job(fork.id, 'b');
    expect(b.replay).toBeUndefined();
    expect(b.context).toEqual({ inputs: { topic: 'kettles', tone: 'warm' }, steps: { a: { output: source.steps[0]!.output } } });
    expect(h.jobsOf(fork.id, 'a')).toEqual([]);
    await finish(fork);
    // The fork's recording is whole: the carried-over step's call is copied to it.
    expect((await h.call(PlannerRpc.exportRun, { runId: fork.id })).calls.map((c) => c.stepId)).toEqual(['a', 'b', 'c']);
  });

  it('re-runs only the steps that read an overridden input when no step is named', async () => {
    const replay = await h.call(PlannerRpc.replayRun, { runId: source.id, mode: 'recorded_else_live', overrides: { inputs: { tone: 'terse' } } });
    expect(replay.steps.map((s) => s.reused)).toEqual([true, false, false]);
    expect((await h.job(replay.id, 'b')).replay?.mode).toBe('recorded_else_live');
  });

  it('re-runs a step whose model is overridden, and what follows it', async () => {
    const replay = await h.call(PlannerRpc.replayRun, { runId: source.id, mode: 'live', overrides: { models: { c: 'gpt-4.1' } } });
    expect(replay).toMatchObject({ pipelineVersion: 0 });
    expect(replay.steps.map((s) => [s.id, s.reused])).toEqual([
      ['a', true],
      ['b', true],
      ['c', false],
    ]);
    expect(await h.job(replay.id, 'c')).toMatchObject({ model: 'gpt-4.1' });
  });

  it('refuses to replay a running run, from a step the pipeline does not have, or a model override of an unknown step', async () => {
    const running = await h.startInline(chain, { topic: 'still running' });
    expect(await rpcError(h.call(PlannerRpc.replayRun, { runId: running.id, mode: 'recorded' }))).toMatchObject({ code: 'failed_precondition' });
    expect(await rpcError(h.call(PlannerRpc.replayRun, { runId: source.id, mode: 'recorded', from: 'ghost' }))).toMatchObject({ code: 'invalid_argument', issues: [{ path: ['from'] }] });
    expect(await rpcError(h.call(PlannerRpc.replayRun, { runId: source.id, mode: 'live', overrides: { models: { ghost: 'm' } } }))).toMatchObject({ code: 'invalid_argument', issues: [{ path: ['overrides', 'models', 'ghost'] }] });
    expect(await rpcError(h.call(PlannerRpc.replayRun, { runId: source.id, mode: 'live', overrides: { inputs: { tone: 3 } } }))).toMatchObject({ code: 'invalid_argument', issues: [{ path: ['overrides', 'inputs', 'tone'] }] });
    expect(await rpcError(h.call(PlannerRpc.replayRun, { runId: source.id, mode: 'recorded', project: 'another' }))).toMatchObject({ code: 'not_found' });
  });

  it('imports an exported run under a new id, finished as it was, and replays it from its recording', async () => {
    const file = await h.call(PlannerRpc.exportRun, { runId: source.id });
    const imported = await h.call(PlannerRpc.importRun, { file });
    expect(imported.id).not.toBe(source.id);
    expect(imported).toMatchObject({ status: 'succeeded', pipeline: 'chain', inputs: source.inputs });
    expect(imported.steps.map((s) => [s.id, s.status, s.output, s.messages])).toEqual(source.steps.map((s) => [s.id, s.status, s.output, s.messages]));
    const replay = await h.call(PlannerRpc.replayRun, { runId: imported.id, mode: 'recorded' });
    expect((await h.job(replay.id, 'a')).replay?.calls).toHaveLength(1);
  });

  it("records a verdict's judge calls, and a replay's verification job carries them", async () => {
    const gated = { version: 1, name: 'gated', steps: { g: { prompt: 'Draft a tagline', verify: { gates: [{ judge: { rubric: 'Short.', categories: [] } }] } } } };
    const judgeCall = {
      call: 'judge.0',
      request: { kind: 'model' as const, model: 'judge', messages: [{ role: 'user' as const, content: 'Judge the tagline' }], params: { temperature: 0 } },
      answer: { output: '{"score":1}', model: 'judge', usage: { inputTokens: 3, outputTokens: 2 }, finishReason: 'stop' },
    };
    const judged = async (run: RunView, replayed: boolean) => {
      await answer(await h.job(run.id, 'g'), { replayed });
      await h.verified(await h.verifyJob(run.id, 'g'), { verdict: 'accept', score: 1, categories: {}, violations: [], iteration: 1, calls: [judgeCall] });
      return waitFor('the run to end', async () => {
        const view = await h.call(PlannerRpc.getRun, { runId: run.id });
        return view.status !== 'running' && view;
      });
    };
    const run = await judged(await h.startInline(gated), false);
    expect(run.status).toBe('succeeded');
    expect((await h.call(PlannerRpc.exportRun, { runId: run.id })).calls.map((c) => [c.call, c.iteration])).toEqual([
      ['generate', 1],
      ['judge.0', 1],
    ]);
    const replay = await h.call(PlannerRpc.replayRun, { runId: run.id, mode: 'recorded' });
    await answer(await h.job(replay.id, 'g'), { replayed: true });
    expect((await h.verifyJob(replay.id, 'g')).replay).toEqual({ mode: 'recorded', calls: [{ hash: requestHash(judgeCall.request), request: judgeCall.request, answer: judgeCall.answer }] });
  });

  it("is admitted like any new run of its project: queued while the project is at its limit, started with its source when a slot frees, refused once the budget is spent", async () => {
    const project = `replay-adm-${uniqueToken()}`;
    const limited = { project, maxRunning: 1 };
    const own = await finish(await h.call(PlannerRpc.startRun, { ...limited, source: { json: chain }, inputs: { topic: 'queues' } }));
    const blocker = await h.call(PlannerRpc.startRun, { ...limited, source: { json: chain }, inputs: { topic: 'busy' } });
    expect(blocker.status).toBe('running');
    const replay = await h.call(PlannerRpc.replayRun, { ...limited, runId: own.id, mode: 'recorded', from: 'b', priority: 4 });
    expect(replay).toMatchObject({ status: 'queued', priority: 4, queue: { position: 1 }, source: { run: own.id, from: 'b', mode: 'recorded' } });
    expect(await h.event(RunQueued, replay.id)).toMatchObject({ position: 1, priority: 4 });
    expect(h.jobsOf(replay.id)).toEqual([]);
    await finish(blocker);
    expect(await h.event(RunStarted, replay.id)).toMatchObject({ source: { run: own.id, from: 'b', mode: 'recorded' }, queuedMs: expect.any(Number) });
    expect(await h.event(StepCompleted, replay.id, (e) => e.stepId === 'a')).toMatchObject({ reused: true });
    expect((await h.job(replay.id, 'b')).replay?.calls).toHaveLength(1);
    // The project has used tokens today; a budget below them refuses a replay as it refuses a start.
    const refused = await rpcError(h.call(PlannerRpc.replayRun, { ...limited, runId: own.id, mode: 'recorded', budget: { maxTokensPerDay: 1 } }));
    expect(refused).toMatchObject({ code: 'resource_exhausted', issues: [{ path: ['budget', 'maxTokensPerDay'] }] });
  });

  it("pins the source's orchestration templates (its personality as it ran, not the registry's newer version), or the version an override names", async () => {
    const voice = `voice-${uniqueToken()}`;
    await h.call(RegistryRpc.createTemplate, { admin: false, category: 'personality', name: voice, body: 'Speak plainly.' });
    const spoken = { ...chain, name: 'spoken', personality: voice };
    const own = await finish(await h.startInline(spoken, { topic: 'voices' }));
    await h.call(RegistryRpc.createTemplate, { admin: false, category: 'personality', name: voice, body: 'Speak in riddles.' });
    const replay = await h.call(PlannerRpc.replayRun, { runId: own.id, mode: 'recorded' });
    expect(replay.templates.find((t) => t.name === voice)).toMatchObject({ category: 'personality', version: 1, experiment: null });
    expect((await h.job(replay.id, 'a')).system).toBe('Speak plainly.');
    const newer = await h.call(PlannerRpc.replayRun, { runId: own.id, mode: 'recorded_else_live', from: 'c', overrides: { templates: { [voice]: 'latest' } } });
    expect(newer.steps.map((s) => s.reused)).toEqual([false, false, false]);
    expect((await h.job(newer.id, 'a')).system).toBe('Speak in riddles.');
  });

  it('never changes the source run', async () => {
    expect(JSON.stringify(await h.call(PlannerRpc.getRun, { runId: source.id }))).toBe(sourceBefore);
  });
});
