import type { RunView, StepView } from '@trellis/contracts';
import { applyEvents, collectNotes, mergeFresher, type RunEvent } from './run-live';

const RUN = '0190a0b0-0000-7000-8000-000000000001';

function step(id: string, fields: Partial<StepView> = {}): StepView {
  return {
    id,
    status: 'pending',
    attempt: 0,
    dependsOn: [],
    model: 'sim-small',
    output: null,
    error: null,
    usage: { inputTokens: 0, outputTokens: 0 },
    cost: 0,
    messages: null,
    score: null,
    executor: null,
    dispatchedAt: null,
    startedAt: null,
    finishedAt: null,
    iterations: [],
    iterationsUsed: 0,
    bestScore: null,
    stopReason: null,
    template: null,
    reused: false,
    recorded: false,
    parameters: {},
    ...fields,
  };
}

function run(steps: StepView[], fields: Partial<RunView> = {}): RunView {
  return {
    id: RUN,
    project: 'p',
    pipeline: 'fan',
    pipelineVersion: 1,
    status: 'running',
    inputs: {},
    usage: { inputTokens: 0, outputTokens: 0 },
    cost: 0,
    error: null,
    createdAt: '2026-05-01T10:00:00.000Z',
    finishedAt: null,
    actor: null,
    priority: 3,
    startedAt: '2026-05-01T10:00:00.000Z',
    queue: null,
    steps,
    templates: [],
    strategies: [],
    products: [],
    source: null,
    recording: true,
    ...fields,
  };
}

let seq = 0;
const ev = (type: string, data: object): RunEvent => ({ id: String(++seq), type: `dev.trellis.${type}`, time: `2026-05-01T10:00:0${seq % 10}.000Z`, data: { runId: RUN, ...data } });
const dispatched = (stepId: string, attempt = 1) => ev('step.dispatched', { stepId, attempt, model: 'sim-large', pool: 'default' });
const generated = (stepId: string, attempt = 1) =>
  ev('step.generated', { stepId, attempt, output: `answer of ${stepId}`, model: 'sim-large', messages: [], usage: { inputTokens: 1, outputTokens: 2 }, finishReason: 'stop', startedAt: 'x', finishedAt: 'y', executor: 'e1' });
const completed = (stepId: string, status: string, attempt = 1, extra: object = {}) => ev('step.completed', { stepId, status, attempt, ...extra });
const noGates = () => false;

describe('applyEvents', () => {
  it('moves each step along as its events arrive, keeping the other steps as they were', () => {
    const before = run([step('a'), step('b'), step('c')]);
    const after = applyEvents(before, [dispatched('a'), generated('a'), completed('a', 'succeeded', 1, { output: 'A' }), dispatched('b')], noGates);
    expect(after.steps.map((s) => [s.id, s.status, s.attempt])).toEqual([
      ['a', 'succeeded', 1],
      ['b', 'dispatched', 1],
      ['c', 'pending', 0],
    ]);
    expect(after.steps[0]).toMatchObject({ output: 'A', model: 'sim-large', executor: 'e1' });
    expect(after.steps[2]).toBe(before.steps[2]);
    expect(applyEvents(after, [], noGates)).toBe(after);
  });

  it('puts a step with gates in verifying when its answer is generated, and a step without gates waits for its completion', () => {
    const start = applyEvents(run([step('gated'), step('plain')]), [dispatched('gated'), dispatched('plain')], noGates);
    const after = applyEvents(start, [generated('gated'), generated('plain')], (id) => id === 'gated');
    expect(after.steps.map((s) => s.status)).toEqual(['verifying', 'dispatched']);
  });

  it('never moves a step back: a replayed history or an older attempt leaves a finished step finished', () => {
    const finished = run([step('a', { status: 'succeeded', attempt: 2, output: 'final' })], { status: 'succeeded', finishedAt: '2026-05-01T10:01:00.000Z' });
    const replay = [dispatched('a', 1), generated('a', 1), completed('a', 'failed', 1), dispatched('a', 2), completed('a', 'succeeded', 2)];
    const after = applyEvents(finished, replay, noGates);
    expect(after.steps[0]).toMatchObject({ status: 'succeeded', attempt: 2 });
    expect(after.status).toBe('succeeded');
  });

  it('shows a skipped step with its reason, ends the run, and a resume takes the steps back to pending', () => {
    const reason = { code: 'condition_false', message: 'condition "inputs.go" is false', retryable: false };
    const ended = applyEvents(
      run([step('check'), step('act')]),
      [completed('check', 'failed', 1, { error: { code: 'model_error', message: 'no', retryable: false } }), completed('act', 'skipped', 0, { error: reason }), ev('run.completed', { status: 'failed', usage: { inputTokens: 5, outputTokens: 6 }, cost: 0.5, durationMs: 10 })],
      noGates,
    );
    expect(ended.steps[1]).toMatchObject({ status: 'skipped', error: reason });
    expect(ended).toMatchObject({ status: 'failed', cost: 0.5, usage: { inputTokens: 5, outputTokens: 6 } });
    expect(ended.finishedAt).not.toBeNull();

    const resumed = applyEvents(ended, [ev('run.resumed', { steps: ['check', 'act'] })], noGates);
    expect(resumed.steps.map((s) => [s.status, s.error])).toEqual([
      ['pending', null],
      ['pending', null],
    ]);
    expect(resumed).toMatchObject({ status: 'running', finishedAt: null });
  });
});

describe('mergeFresher', () => {
  it("takes the server's run, but keeps a step the events already moved further, and an end the server had not seen", () => {
    const shown = run([step('a', { status: 'succeeded', attempt: 1 }), step('b', { status: 'dispatched', attempt: 1 })], { status: 'succeeded', finishedAt: 'end' });
    const server = run([step('a', { status: 'dispatched', attempt: 1, usage: { inputTokens: 9, outputTokens: 9 } }), step('b', { status: 'succeeded', attempt: 1, output: 'B' })]);
    const merged = mergeFresher(server, shown);
    expect(merged.steps[0]).toMatchObject({ status: 'succeeded', usage: { inputTokens: 9, outputTokens: 9 } });
    expect(merged.steps[1]).toMatchObject({ status: 'succeeded', output: 'B' });
    expect(merged).toMatchObject({ status: 'succeeded', finishedAt: 'end' });
    expect(mergeFresher(server, undefined)).toBe(server);
  });
});

describe('collectNotes', () => {
  it("keeps each verdict's feedback and kept candidate and each failed attempt's error, once even when replayed", () => {
    const verdict = ev('step.verified', { stepId: 'draft', attempt: 1, verdict: 'retry', score: 0.6, categories: {}, violations: [], feedback: 'Name the price.', best: { iteration: 1, attempt: 1, score: 0.6 } });
    const failure = ev('step.failed', { stepId: 'draft', attempt: 2, error: { code: 'provider_error', message: '503', retryable: true } });
    const once = collectNotes({}, [verdict, failure]);
    const twice = collectNotes(once, [verdict, failure]);
    expect(twice.draft!.verdicts.map((v) => v.feedback)).toEqual(['Name the price.']);
    expect(twice.draft!.failures.map((f) => f.error.message)).toEqual(['503']);
    expect(collectNotes(once, [dispatched('draft')])).toBe(once);
  });
});
