import type { RecordedCall, ResolvedTemplate, StepGenerated } from '@trellis/contracts';
import { decideRunChange, type Outgoing, type RunInput } from '../run/run-change';
import { newRunSnapshot, type RunSnapshot } from '../run/run-record';
import { compilePipeline } from '../spec/compile-pipeline';
import type { CompiledPipeline } from '../spec/compiled-pipeline';
import { requestHash } from './recorded-calls';
import { planReplay, replaySnapshot, type ReplayPlan } from './replay-plan';
import { specWithModels } from './replay-spec';

const NOW = new Date('2026-12-05T12:00:00.000Z');
const SOURCE_ID = '01934a5c-0000-7000-8000-000000000001';
const REPLAY_ID = '01934a5c-0000-7000-8000-000000000002';

function compile(spec: Record<string, unknown>): CompiledPipeline {
  const result = compilePipeline({ json: { version: 1, name: 'p', ...spec } }, { defaultModel: 'm', defaultPool: 'default' });
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.pipeline;
}

const CHAIN = {
  inputs: { topic: { type: 'string' }, tone: { type: 'string' } },
  steps: {
    a: { prompt: 'Name a thing about {{ inputs.topic }}' },
    b: { depends_on: ['a'], prompt: 'Write about {{ steps.a.output }} in a {{ inputs.tone }} tone' },
    c: { depends_on: ['b'], prompt: 'Summarise {{ steps.b.output }}' },
  },
};
const chain = compile(CHAIN);
const INPUTS = { topic: 'kettles', tone: 'dry' };

function apply(pipeline: CompiledPipeline, snapshot: RunSnapshot, input: RunInput): { next: RunSnapshot; messages: Outgoing[] } {
  const change = decideRunChange(pipeline, snapshot, input, NOW);
  if (!change.applied) throw new Error(change.reason);
  return change;
}

function generated(runId: string, stepId: string, output: string, extra: Partial<StepGenerated> = {}): RunInput {
  return {
    type: 'generated',
    result: {
      runId,
      stepId,
      attempt: 1,
      output,
      model: 'm',
      messages: [{ role: 'user', content: `prompt of ${stepId}` }],
      usage: { inputTokens: 10, outputTokens: 5 },
      cost: 0.01,
      finishReason: 'stop',
      startedAt: NOW.toISOString(),
      finishedAt: NOW.toISOString(),
      executor: 'e1',
      request: { kind: 'model', model: 'm', params: {} },
      ...extra,
    },
  };
}

/** A finished source run of `pipeline`: every step answered `<id>!` in order. */
function finishedRun(pipeline: CompiledPipeline, templates: ResolvedTemplate[] = []): RunSnapshot {
  let snapshot = newRunSnapshot(pipeline, { id: SOURCE_ID, project: 'acme', pipeline: 'p', pipelineVersion: 1, inputs: INPUTS, templates, subject: null, stream: false, actor: null, recording: true, priority: 3, concurrencyKey: null, createdAt: NOW });
  snapshot = apply(pipeline, snapshot, { type: 'start' }).next;
  for (const id of pipeline.order) snapshot = apply(pipeline, snapshot, generated(SOURCE_ID, id, `${id}!`)).next;
  return snapshot;
}

const rerun = (plan: ReplayPlan) => plan.rerun.map((r) => r.stepId);
function plan(target: Partial<{ pipeline: CompiledPipeline; inputs: Record<string, unknown>; templates: ResolvedTemplate[] }>, from?: string, source = finishedRun(chain)): ReplayPlan {
  const result = planReplay({ pipeline: chain, snapshot: source }, { pipeline: target.pipeline ?? chain, inputs: target.inputs ?? INPUTS, templates: target.templates ?? [] }, from);
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.plan;
}

describe('planReplay', () => {
  it('replays every step when nothing is overridden and no step is named', () => {
    const p = plan({});
    expect(rerun(p)).toEqual(['a', 'b', 'c']);
    expect(p.reused).toEqual([]);
  });

  it('forks from a step: it and what follows run again, what precedes it is carried over', () => {
    const p = plan({}, 'b');
    expect(p.rerun).toEqual([
      { stepId: 'b', why: 'forked from here' },
      { stepId: 'c', why: 'downstream of "b"' },
    ]);
    expect(p.reused).toEqual(['a']);
  });

  it('re-runs exactly the steps that read an overridden input, and their descendants', () => {
    const p = plan({ inputs: { ...INPUTS, tone: 'warm' } });
    expect(p.rerun[0]).toEqual({ stepId: 'b', why: 'reads inputs.tone, which changed' });
    expect(rerun(p)).toEqual(['b', 'c']);
    expect(plan({ inputs: { ...INPUTS, topic: 'teapots' } }).reused).toEqual([]);
  });

  it('treats an input set to the value it had as no override', () => {
    expect(rerun(plan({ inputs: { ...INPUTS } }, 'c'))).toEqual(['c']);
  });

  it('re-runs the steps whose definition changed in another spec (a model override), and their descendants', () => {
    const changed = specWithModels(chain.spec, { b: 'other' });
    if (!changed.ok) throw new Error('no spec');
    const p = plan({ pipeline: compile(changed.spec as unknown as Record<string, unknown>) });
    expect(p.rerun).toEqual([
      { stepId: 'b', why: 'its definition changed' },
      { stepId: 'c', why: 'downstream of "b"' },
    ]);
  });

  it('runs a step the source did not have', () => {
    const grown = compile({ ...CHAIN, steps: { ...CHAIN.steps, d: { depends_on: ['a'], prompt: 'More on {{ steps.a.output }}' } } });
    const p = plan({ pipeline: grown });
    expect(p.rerun).toEqual([{ stepId: 'd', why: "not in the source run's pipeline" }]);
    expect(p.reused).toEqual(['a', 'b', 'c']);
  });

  it('re-runs a step that did not succeed in the source, with what follows it', () => {
    let source = newRunSnapshot(chain, { id: SOURCE_ID, project: 'acme', pipeline: 'p', pipelineVersion: 1, inputs: INPUTS, templates: [], subject: null, stream: false, actor: null, recording: true, priority: 3, concurrencyKey: null, createdAt: NOW });
    source = apply(chain, source, { type: 'start' }).next;
    source = apply(chain, source, generated(SOURCE_ID, 'a', 'a!')).next;
    source = apply(chain, source, { type: 'failed', result: { runId: SOURCE_ID, stepId: 'b', attempt: 1, error: { code: 'x', message: 'x', retryable: false } } }).next;
    const p = plan({}, 'c', source);
    expect(p.rerun).toEqual([
      { stepId: 'b', why: 'failed in the source run' },
      { stepId: 'c', why: 'forked from here' },
    ]);
  });

  it('re-runs the steps that render a template pinned at another version, and their descendants', () => {
    const pin = (version: number): ResolvedTemplate => ({ ref: 'greet', name: 'greet', category: 'prompt', version, label: null, level: 'project', body: `v${version} {{ inputs.who }}`, variables: ['who'], parameters: {}, experiment: null });
    const templated = compile({ ...CHAIN, steps: { ...CHAIN.steps, g: { depends_on: ['a'], template: 'greet', with: { who: '{{ steps.a.output }}' } }, h: { depends_on: ['g'], prompt: 'Echo {{ steps.g.output }}' } } });
    const source = finishedRun(templated, [pin(1)]);
    const result = planReplay({ pipeline: templated, snapshot: source }, { pipeline: templated, inputs: INPUTS, templates: [pin(2)] });
    if (!result.ok) throw new Error('plan');
    expect(result.plan.rerun).toEqual([
      { stepId: 'g', why: 'renders template "greet", now version 2 (was 1)' },
      { stepId: 'h', why: 'downstream of "g"' },
    ]);
    expect(result.plan.reused).toEqual(['a', 'b', 'c']);
  });

  it('re-runs the steps whose orchestration template (personality, judge, feedback) is pinned at another version, but not for a source that pinned none', () => {
    // Every model step of `chain` has the default personality, `standard`.
    const pin = (version: number): ResolvedTemplate => ({ ref: 'standard', name: 'standard', category: 'personality', version, label: null, level: 'project', body: `v${version}`, variables: [], parameters: {}, experiment: null });
    const changed = planReplay({ pipeline: chain, snapshot: finishedRun(chain, [pin(1)]) }, { pipeline: chain, inputs: INPUTS, templates: [pin(2)] }, 'c');
    expect(changed.ok && changed.plan.rerun).toEqual([
      { stepId: 'a', why: 'its personality template "standard" is now version 2 (was 1)' },
      { stepId: 'b', why: 'its personality template "standard" is now version 2 (was 1)' },
      { stepId: 'c', why: 'forked from here' },
    ]);
    const unpinned = planReplay({ pipeline: chain, snapshot: finishedRun(chain, []) }, { pipeline: chain, inputs: INPUTS, templates: [pin(2)] }, 'c');
    expect(unpinned.ok && unpinned.plan.rerun).toEqual([{ stepId: 'c', why: 'forked from here' }]);
  });

  it('refuses a step the pipeline does not have', () => {
    const result = planReplay({ pipeline: chain, snapshot: finishedRun(chain) }, { pipeline: chain, inputs: INPUTS, templates: [] }, 'nope');
    expect(result).toEqual({ ok: false, issues: [{ path: ['from'], message: 'the pipeline has no step "nope" (it has a, b, c)' }] });
  });
});

describe('replaySnapshot and the start of a replay', () => {
  const source = finishedRun(chain);
  const calls: RecordedCall[] = ['a', 'b', 'c'].map((stepId) => ({
    stepId,
    attempt: 1,
    iteration: 1,
    call: 'generate',
    request: { kind: 'model', model: 'm', messages: [{ role: 'user', content: `prompt of ${stepId}` }], params: {} },
    answer: { output: `${stepId}!`, model: 'm', usage: { inputTokens: 10, outputTokens: 5 }, finishReason: 'stop' },
    at: NOW.toISOString(),
  }));
  const fields = (mode: 'recorded' | 'live', from: string | null) => ({
    id: REPLAY_ID,
    project: 'acme',
    pipeline: 'p',
    pipelineVersion: 1,
    inputs: INPUTS,
    templates: [],
    subject: null,
    stream: false,
    actor: null,
    recording: true,
    priority: 3,
    concurrencyKey: null,
    createdAt: NOW,
    source: { run: SOURCE_ID, from, mode },
    recorded: calls,
  });

  it("carries the steps before the fork over, succeeded and marked reused, with their usage; the run's own usage starts at nothing", () => {
    const snapshot = replaySnapshot(chain, source, plan({}, 'b'), fields('recorded', 'b'));
    expect(snapshot.steps.a).toMatchObject({ runId: REPLAY_ID, status: 'succeeded', output: 'a!', origin: 'reused', inputTokens: 10, cost: 0.01 });
    expect(snapshot.steps.b).toMatchObject({ status: 'pending', attempt: 0, output: null, origin: null });
    expect(snapshot.run).toMatchObject({ id: REPLAY_ID, status: 'queued', inputTokens: 0, outputTokens: 0, cost: 0, version: 0, source: { run: SOURCE_ID, from: 'b', mode: 'recorded' } });
    expect(snapshot.run.replayCalls.map((c) => c.stepId)).toEqual(['b', 'c']);
  });

  it('pins no recorded calls for a live replay', () => {
    expect(replaySnapshot(chain, source, plan({}, 'b'), fields('live', 'b')).run.replayCalls).toEqual([]);
  });

  it('starts where the fork is: the run is announced with its source, carried steps as reused, and the fork step gets the recorded answers', () => {
    const snapshot = replaySnapshot(chain, source, plan({}, 'b'), fields('recorded', 'b'));
    const { messages } = apply(chain, snapshot, { type: 'start' });
    const events = messages.filter((m) => m.queue === 'event');
    expect(events.map((m) => m.contract.type)).toEqual(['dev.trellis.run.started', 'dev.trellis.step.completed', 'dev.trellis.step.dispatched']);
    expect(events[0]!.data).toMatchObject({ runId: REPLAY_ID, source: { run: SOURCE_ID, from: 'b', mode: 'recorded' } });
    expect(events[1]!.data).toEqual({ runId: REPLAY_ID, stepId: 'a', status: 'succeeded', attempt: 1, output: 'a!', reused: true });
    const jobs = messages.filter((m): m is Extract<Outgoing, { queue: 'step' }> => m.queue === 'step');
    expect(jobs.map((j) => j.data.stepId)).toEqual(['b']);
    expect(jobs[0]!.data.context.steps).toEqual({ a: { output: 'a!' } });
    expect(jobs[0]!.data.replay).toEqual({ mode: 'recorded', calls: [{ hash: requestHash(calls[1]!.request), request: calls[1]!.request, answer: calls[1]!.answer }] });
  });

  it("gives a continuation (the next step's job, carried by this one's) the recorded answers of its own step", () => {
    const snapshot = replaySnapshot(chain, source, plan({}, 'b'), fields('recorded', 'b'));
    const { messages } = apply(chain, snapshot, { type: 'start' });
    const job = messages.find((m): m is Extract<Outgoing, { queue: 'step' }> => m.queue === 'step');
    expect(job?.data.then?.map((j) => [j.stepId, j.replay])).toEqual([['c', { mode: 'recorded', calls: [{ hash: requestHash(calls[2]!.request), request: calls[2]!.request, answer: calls[2]!.answer }] }]]);
  });

  it('waits for admission like any run: announced queued, then started with its source and its carried-over steps', () => {
    let snapshot = replaySnapshot(chain, source, plan({}, 'b'), fields('recorded', 'b'));
    const queued = apply(chain, snapshot, { type: 'queue', position: 1, estimatedWaitMs: null });
    expect(queued.messages.map((m) => m.queue === 'event' && m.contract.type)).toEqual(['dev.trellis.run.queued']);
    snapshot = queued.next;
    const started = apply(chain, snapshot, { type: 'start' });
    expect(started.messages.filter((m) => m.queue === 'event').map((m) => m.contract.type)).toEqual(['dev.trellis.run.started', 'dev.trellis.step.completed', 'dev.trellis.step.dispatched']);
    expect(started.messages.find((m) => m.queue === 'step')?.data).toMatchObject({ stepId: 'b', replay: { mode: 'recorded' } });
  });

  it('marks a step whose answer came from the recording', () => {
    let snapshot = replaySnapshot(chain, source, plan({}, 'b'), fields('recorded', 'b'));
    snapshot = apply(chain, snapshot, { type: 'start' }).next;
    snapshot = apply(chain, snapshot, generated(REPLAY_ID, 'b', 'b!', { replayed: true })).next;
    expect(snapshot.steps.b).toMatchObject({ status: 'succeeded', origin: 'recorded' });
  });

  it('ends at once when every step is carried over', () => {
    const all: ReplayPlan = { rerun: [], reused: ['a', 'b', 'c'] };
    const { next, messages } = apply(chain, replaySnapshot(chain, source, all, fields('recorded', null)), { type: 'start' });
    expect(next.run.status).toBe('succeeded');
    expect(messages.filter((m) => m.queue === 'event').map((m) => m.contract.type).at(-1)).toBe('dev.trellis.run.completed');
  });

  it('carries a job no replay field in a live replay', () => {
    const snapshot = replaySnapshot(chain, source, plan({}, 'b'), fields('live', 'b'));
    const { messages } = apply(chain, snapshot, { type: 'start' });
    const job = messages.find((m) => m.queue === 'step');
    expect(job?.queue === 'step' && job.data.replay).toBeUndefined();
  });
});
