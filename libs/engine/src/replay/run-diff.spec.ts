import type { RunView, StepView } from '@trellis/contracts';
import { diffRuns, jsonChanges } from './run-diff';

function step(id: string, extra: Partial<StepView> = {}): StepView {
  return {
    id,
    status: 'succeeded',
    attempt: 1,
    dependsOn: [],
    model: 'm',
    output: `${id} out`,
    error: null,
    usage: { inputTokens: 10, outputTokens: 5 },
    cost: 0.01,
    messages: [{ role: 'user', content: `do ${id}` }],
    score: null,
    executor: 'e1',
    dispatchedAt: '2026-12-05T12:00:00.000Z',
    startedAt: '2026-12-05T12:00:00.000Z',
    finishedAt: '2026-12-05T12:00:01.000Z',
    iterations: [],
    iterationsUsed: 0,
    bestScore: null,
    stopReason: null,
    parameters: {},
    template: null,
    reused: false,
    recorded: false,
    ...extra,
  };
}

function run(id: string, steps: StepView[], extra: Partial<RunView> = {}): RunView {
  return {
    id,
    project: 'acme',
    pipeline: 'p',
    pipelineVersion: 1,
    status: 'succeeded',
    inputs: {},
    usage: { inputTokens: 30, outputTokens: 15 },
    cost: 0.03,
    error: null,
    createdAt: '2026-12-05T12:00:00.000Z',
    finishedAt: '2026-12-05T12:00:03.000Z',
    actor: null,
    priority: 3,
    startedAt: '2026-12-05T12:00:00.000Z',
    queue: null,
    steps,
    templates: [],
    strategies: [],
    products: [],
    source: null,
    recording: true,
    ...extra,
  };
}

describe('diffRuns', () => {
  it('says two runs with the same prompts and outputs are identical, whatever they cost or how long they took', () => {
    const a = run('A', [step('a'), step('b')]);
    const b = run('B', [step('a', { recorded: true, finishedAt: '2026-12-05T12:00:00.100Z' }), step('b', { reused: true })], { cost: 0, finishedAt: '2026-12-05T12:00:00.500Z' });
    const diff = diffRuns(a, b);
    expect(diff.summary).toEqual({ identical: true, changed: [], added: [], removed: [] });
    expect(diff.steps.map((s) => s.change)).toEqual(['identical', 'identical']);
    expect(diff.cost).toEqual({ a: 0.03, b: 0, delta: -0.03 });
    expect(diff.durationMs).toEqual({ a: 3000, b: 500, delta: -2500 });
    expect(diff.steps[0]).toMatchObject({ recorded: { a: false, b: true }, durationMs: { a: 1000, b: 100 }, prompt: { equal: true, patch: '' } });
  });

  it('names the steps whose prompt or output changed, with unified diffs of both', () => {
    const a = run('A', [step('a'), step('b'), step('c')]);
    const b = run('B', [step('a'), step('b', { messages: [{ role: 'user', content: 'do b warmly' }], output: 'b out, warmly' }), step('c', { output: 'c other' })]);
    const diff = diffRuns(a, b);
    expect(diff.summary).toEqual({ identical: false, changed: ['b', 'c'], added: [], removed: [] });
    const b2 = diff.steps[1]!;
    expect(b2.changed).toEqual(['prompt', 'output']);
    expect(b2.prompt.patch).toBe('--- a/b/prompt\n+++ b/b/prompt\n@@ -1,2 +1,2 @@\n [user]\n-do b\n+do b warmly\n');
    expect(b2.output.patch).toBe('--- a/b/output\n+++ b/b/output\n@@ -1,1 +1,1 @@\n-b out\n+b out, warmly\n');
    expect(diff.steps[2]!.changed).toEqual(['output']);
  });

  it('compares status, model, template version, score and rounds', () => {
    const a = run('A', [step('a', { template: { name: 't', version: 1 }, score: 0.9, iterationsUsed: 1 })]);
    const b = run('B', [step('a', { status: 'failed', model: 'n', template: { name: 't', version: 2 }, score: 0.7, iterationsUsed: 2, error: { code: 'replay_miss', message: 'differs', retryable: false } })], { status: 'failed' });
    const [s] = diffRuns(a, b).steps;
    expect(s!.changed).toEqual(['status', 'model', 'template', 'score', 'iterations']);
    expect(s!.error).toEqual({ a: null, b: { code: 'replay_miss', message: 'differs' } });
  });

  it('lists the steps only one run has as added or removed', () => {
    const diff = diffRuns(run('A', [step('a'), step('gone')]), run('B', [step('a'), step('new')]));
    expect(diff.summary).toEqual({ identical: false, changed: [], added: ['new'], removed: ['gone'] });
    expect(diff.steps.find((s) => s.id === 'new')).toMatchObject({ change: 'added', status: { a: null, b: 'succeeded' } });
  });

  it('diffs JSON outputs structurally', () => {
    const a = run('A', [step('a', { output: '{"n":1,"tags":["x"]}', structured: { n: 1, tags: ['x'] } })]);
    const b = run('B', [step('a', { output: '{"n":2,"tags":["x","y"]}', structured: { n: 2, tags: ['x', 'y'] } })]);
    expect(diffRuns(a, b).steps[0]!.structured).toEqual([
      { path: ['n'], type: 'changed', before: 1, after: 2 },
      { path: ['tags', 1], type: 'added', after: 'y' },
    ]);
  });
});

describe('jsonChanges', () => {
  it('reports a removed key and a changed scalar root', () => {
    expect(jsonChanges({ a: 1, b: 2 }, { a: 1 })).toEqual([{ path: ['b'], type: 'removed', before: 2 }]);
    expect(jsonChanges(1, 2)).toEqual([{ path: [], type: 'changed', before: 1, after: 2 }]);
    expect(jsonChanges('x', 'x')).toEqual([]);
  });
});
