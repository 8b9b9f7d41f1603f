import type { FailureInfo } from '@trellis/contracts';
import { compilePipeline } from '../spec/compile-pipeline';
import type { CompiledPipeline } from '../spec/compiled-pipeline';
import { advanceRun } from './advance-run';
import { initialRunState, type Decision, type RunEvent, type RunState } from './run-state';

function compile(steps: Record<string, { depends_on?: string[]; verify?: boolean }>): CompiledPipeline {
  const spec = {
    version: 1,
    name: 'run',
    steps: Object.fromEntries(
      Object.entries(steps).map(([id, s]) => [
        id,
        { prompt: `do ${id}`, depends_on: s.depends_on ?? [], ...(s.verify ? { verify: { gates: ['json'] } } : {}) },
      ]),
    ),
  };
  const result = compilePipeline({ json: spec }, { defaultModel: 'm', defaultPool: 'p' });
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.pipeline;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
}

/** Applies events in order, each to a frozen state so any mutation throws; returns the last decision. */
function play(pipeline: CompiledPipeline, events: RunEvent[], from: RunState = initialRunState(pipeline)): Decision {
  let state = from;
  let decision: Decision | undefined;
  for (const event of events) {
    decision = advanceRun(pipeline, deepFreeze(state), event);
    state = decision.next;
  }
  if (!decision) throw new Error('no events');
  return decision;
}

const start: RunEvent = { type: 'start' };
const generated = (stepId: string, attempt = 1): RunEvent => ({ type: 'generated', stepId, attempt });
const verified = (stepId: string, verdict: 'accept' | 'retry' | 'escalate' | 'reject', attempt = 1): RunEvent => ({
  type: 'verified',
  stepId,
  attempt,
  verdict,
  iteration: attempt,
});
const boom: FailureInfo = { code: 'model_error', message: 'the model refused', retryable: false };
const failed = (stepId: string, attempt = 1): RunEvent => ({ type: 'failed', stepId, attempt, error: boom });
const statuses = (state: RunState) => Object.fromEntries(Object.entries(state.steps).map(([id, s]) => [id, `${s.status}@${s.attempt}`]));

const diamond = compile({ top: {}, left: { depends_on: ['top'] }, right: { depends_on: ['top'] }, bottom: { depends_on: ['left', 'right'] } });
const gated = compile({ write: { verify: true }, publish: { depends_on: ['write'] } });

describe('initialRunState', () => {
  it('starts queued with every step pending at attempt 0', () => {
    expect(initialRunState(diamond)).toEqual({
      status: 'queued',
      steps: {
        top: { status: 'pending', attempt: 0 },
        left: { status: 'pending', attempt: 0 },
        right: { status: 'pending', attempt: 0 },
        bottom: { status: 'pending', attempt: 0 },
      },
    });
  });
});

describe('advanceRun: start', () => {
  it('dispatches every root at attempt 1', () => {
    const twoRoots = compile({ a: {}, b: {}, c: { depends_on: ['a', 'b'] } });
    const decision = play(twoRoots, [start]);
    expect(decision).toEqual({
      applied: true,
      next: { status: 'running', steps: { a: { status: 'dispatched', attempt: 1 }, b: { status: 'dispatched', attempt: 1 }, c: { status: 'pending', attempt: 0 } } },
      changed: [
        { stepId: 'a', status: 'dispatched', attempt: 1 },
        { stepId: 'b', status: 'dispatched', attempt: 1 },
      ],
      dispatch: ['a', 'b'],
      verify: [],
      completed: [],
      activated: [],
    });
  });

  it('ignores a second start', () => {
    const decision = play(diamond, [start, start]);
    expect(decision).toMatchObject({ applied: false, ignoredReason: 'run already started', dispatch: [], changed: [] });
  });
});

describe('advanceRun: generated', () => {
  it('succeeds a step without gates and dispatches the dependents that became ready', () => {
    const decision = play(diamond, [start, generated('top')]);
    expect(decision.completed).toEqual([{ stepId: 'top', status: 'succeeded' }]);
    expect(decision.dispatch).toEqual(['left', 'right']);
    expect(decision.changed).toEqual([
      { stepId: 'top', status: 'succeeded', attempt: 1 },
      { stepId: 'left', status: 'dispatched', attempt: 1 },
      { stepId: 'right', status: 'dispatched', attempt: 1 },
    ]);
    expect(decision.run).toBeUndefined();
  });

  it('waits for every dependency before dispatching a join', () => {
    const afterLeft = play(diamond, [start, generated('top'), generated('left')]);
    expect(afterLeft.dispatch).toEqual([]);
    expect(statuses(afterLeft.next).bottom).toBe('pending@0');
    const afterRight = play(diamond, [generated('right')], afterLeft.next);
    expect(afterRight.dispatch).toEqual(['bottom']);
  });

  it('succeeds the run when the last step succeeds', () => {
    const decision = play(diamond, [start, generated('top'), generated('left'), generated('right'), generated('bottom')]);
    expect(decision.run).toEqual({ status: 'succeeded' });
    expect(decision.next.status).toBe('succeeded');
    expect(decision.completed).toEqual([{ stepId: 'bottom', status: 'succeeded' }]);
  });

  it('runs a one-step pipeline from start to success', () => {
    const single = compile({ only: {} });
    expect(play(single, [start, generated('only')])).toMatchObject({ applied: true, run: { status: 'succeeded' }, next: { status: 'succeeded' } });
  });

  it('sends a step with gates to the verifier instead of succeeding it', () => {
    const decision = play(gated, [start, generated('write')]);
    expect(decision).toMatchObject({
      applied: true,
      verify: ['write'],
      dispatch: [],
      completed: [],
      changed: [{ stepId: 'write', status: 'verifying', attempt: 1 }],
    });
  });

  it('ignores a duplicate generated for a step that already succeeded', () => {
    const decision = play(diamond, [start, generated('top'), generated('top')]);
    expect(decision).toMatchObject({ applied: false, ignoredReason: 'step "top" is already succeeded' });
  });

  it('ignores a duplicate generated for a step being verified', () => {
    const decision = play(gated, [start, generated('write'), generated('write')]);
    expect(decision).toMatchObject({ applied: false, ignoredReason: 'step "write" is verifying, not dispatched' });
  });

  it('ignores generated for a stale attempt', () => {
    const decision = play(gated, [start, generated('write'), verified('write', 'retry'), generated('write', 1)]);
    expect(decision).toMatchObject({ applied: false, ignoredReason: 'stale event: attempt 1 of step "write", current attempt is 2' });
  });

  it('ignores generated for a step that was never dispatched', () => {
    expect(play(diamond, [start, generated('bottom')])).toMatchObject({ applied: false, ignoredReason: expect.stringContaining('attempt 1') });
  });

  it('ignores generated for an unknown step, including inherited property names', () => {
    expect(play(diamond, [start, generated('nope')])).toMatchObject({ applied: false, ignoredReason: 'unknown step "nope"' });
    expect(play(diamond, [start, generated('constructor')])).toMatchObject({ applied: false, ignoredReason: 'unknown step "constructor"' });
  });

  it('returns the very same state object when it ignores an event', () => {
    const before = play(diamond, [start]).next;
    expect(advanceRun(diamond, before, generated('nope')).next).toBe(before);
  });
});

describe('advanceRun: verified', () => {
  it('succeeds an accepted step and dispatches its dependents', () => {
    const decision = play(gated, [start, generated('write'), verified('write', 'accept')]);
    expect(decision).toMatchObject({ applied: true, completed: [{ stepId: 'write', status: 'succeeded' }], dispatch: ['publish'] });
    expect(statuses(decision.next)).toEqual({ write: 'succeeded@1', publish: 'dispatched@1' });
  });

  it('fails the step and the run when the candidate is rejected', () => {
    const decision = play(gated, [start, generated('write'), verified('write', 'reject')]);
    expect(decision.run).toEqual({
      status: 'failed',
      error: { code: 'verification_rejected', message: 'step "write" attempt 1 was rejected by its quality gates', retryable: false },
    });
    expect(statuses(decision.next)).toEqual({ write: 'failed@1', publish: 'skipped@0' });
    expect(decision.completed).toEqual([
      { stepId: 'write', status: 'failed', reason: expect.objectContaining({ code: 'verification_rejected' }) },
      { stepId: 'publish', status: 'skipped', reason: expect.objectContaining({ code: 'run_failed' }) },
    ]);
  });

  it.each(['retry', 'escalate'] as const)('re-dispatches the step at the next attempt on %s', (verdict) => {
    const decision = play(gated, [start, generated('write'), verified('write', verdict)]);
    expect(decision).toMatchObject({
      applied: true,
      dispatch: ['write'],
      verify: [],
      completed: [],
      changed: [{ stepId: 'write', status: 'dispatched', attempt: 2 }],
    });
    const next = play(gated, [generated('write', 2), verified('write', 'accept', 2)], decision.next);
    expect(statuses(next.next)).toEqual({ write: 'succeeded@2', publish: 'dispatched@1' });
  });

  it("bounds the loop by the step's iterate.max plus one escalation round", () => {
    const round = (attempt: number, verdict: 'retry' | 'escalate'): RunEvent[] => [generated('write', attempt), { type: 'verified', stepId: 'write', attempt, verdict, iteration: attempt }];
    const afterThree = play(gated, [start, ...round(1, 'retry'), ...round(2, 'retry'), ...round(3, 'retry')]);
    expect(afterThree.run).toMatchObject({ status: 'failed', error: { code: 'attempts_exhausted', message: expect.stringContaining('after 3 rounds') } });
    const escalating = compilePipeline(
      { json: { version: 1, name: 'run', steps: { write: { prompt: 'w', verify: { gates: ['json'], escalate: true } } } } },
      { defaultModel: 'm', defaultPool: 'p' },
    );
    if (!escalating.ok) throw new Error('does not compile');
    const escalated = play(escalating.pipeline, [start, ...round(1, 'retry'), ...round(2, 'retry'), ...round(3, 'escalate')]);
    expect(statuses(escalated.next).write).toBe('dispatched@4');
  });

  it('ignores a verdict for a step that is not being verified', () => {
    expect(play(gated, [start, verified('write', 'accept')])).toMatchObject({ applied: false, ignoredReason: 'step "write" is dispatched, not verifying' });
  });

  it('ignores a duplicate verdict', () => {
    const decision = play(gated, [start, generated('write'), verified('write', 'accept'), verified('write', 'reject')]);
    expect(decision).toMatchObject({ applied: false, ignoredReason: 'step "write" is already succeeded' });
  });

  it('ignores a verdict on a stale attempt', () => {
    const decision = play(gated, [start, generated('write'), verified('write', 'retry'), generated('write', 2), verified('write', 'accept', 1)]);
    expect(decision).toMatchObject({ applied: false, ignoredReason: expect.stringContaining('stale event') });
  });
});

describe('advanceRun: failed', () => {
  it('fails fast: the run fails with the step error, pending steps are skipped and in-flight steps cancelled', () => {
    const wide = compile({ a: {}, b: { verify: true }, c: {}, d: { depends_on: ['a'] }, e: { depends_on: ['c'] } });
    const decision = play(wide, [start, generated('b'), generated('c'), failed('a')]);
    expect(decision.run).toEqual({ status: 'failed', error: boom });
    expect(decision.next.status).toBe('failed');
    expect(statuses(decision.next)).toEqual({ a: 'failed@1', b: 'cancelled@1', c: 'succeeded@1', d: 'skipped@0', e: 'cancelled@1' });
    expect(decision.completed).toEqual([
      { stepId: 'a', status: 'failed', reason: expect.objectContaining({ code: 'model_error' }) },
      { stepId: 'b', status: 'cancelled' },
      { stepId: 'd', status: 'skipped', reason: expect.objectContaining({ code: 'run_failed' }) },
      { stepId: 'e', status: 'cancelled' },
    ]);
    expect(decision.dispatch).toEqual([]);
  });

  it('fails a step while it is being verified', () => {
    expect(play(gated, [start, generated('write'), failed('write')]).run).toEqual({ status: 'failed', error: boom });
  });

  it('ignores a failure of a stale attempt', () => {
    const decision = play(gated, [start, generated('write'), verified('write', 'retry'), failed('write', 1)]);
    expect(decision).toMatchObject({ applied: false, ignoredReason: expect.stringContaining('stale event') });
  });

  it('ignores every event once the run has failed', () => {
    const over = play(diamond, [start, failed('top')]).next;
    for (const event of [start, generated('top'), failed('top'), { type: 'cancel' } as RunEvent]) {
      expect(advanceRun(diamond, over, event)).toMatchObject({ applied: false, ignoredReason: 'run is failed', next: over });
    }
  });
});

describe('advanceRun: cancel', () => {
  it('cancels in-flight steps, skips pending ones and keeps finished ones', () => {
    const decision = play(diamond, [start, generated('top'), generated('left'), { type: 'cancel' }]);
    expect(decision.run).toEqual({ status: 'cancelled' });
    expect(decision.next.status).toBe('cancelled');
    expect(statuses(decision.next)).toEqual({ top: 'succeeded@1', left: 'succeeded@1', right: 'cancelled@1', bottom: 'skipped@0' });
    expect(decision.completed).toEqual([
      { stepId: 'right', status: 'cancelled' },
      { stepId: 'bottom', status: 'skipped', reason: expect.objectContaining({ code: 'run_cancelled' }) },
    ]);
  });

  it('cancels a step being verified', () => {
    expect(statuses(play(gated, [start, generated('write'), { type: 'cancel' }]).next).write).toBe('cancelled@1');
  });

  it('skips every step when cancelled before it started', () => {
    const decision = play(diamond, [{ type: 'cancel' }]);
    expect(Object.values(statuses(decision.next))).toEqual(['skipped@0', 'skipped@0', 'skipped@0', 'skipped@0']);
  });

  it('ignores a second cancel and a late result', () => {
    const cancelled = play(diamond, [start, { type: 'cancel' }]).next;
    expect(advanceRun(diamond, cancelled, { type: 'cancel' })).toMatchObject({ applied: false, ignoredReason: 'run is cancelled' });
    expect(advanceRun(diamond, cancelled, generated('top'))).toMatchObject({ applied: false, ignoredReason: 'run is cancelled' });
  });

  it('ignores a cancel after the run succeeded', () => {
    const done = play(compile({ only: {} }), [start, generated('only'), { type: 'cancel' }]);
    expect(done).toMatchObject({ applied: false, ignoredReason: 'run is succeeded' });
  });
});

describe('advanceRun: a whole run', () => {
  it('walks plan → 8 experts → combine, dispatching the join only after the last expert', () => {
    const experts = Array.from({ length: 8 }, (_, i) => `expert_${i + 1}`);
    const pipeline = compile({ plan: {}, ...Object.fromEntries(experts.map((e) => [e, { depends_on: ['plan'] }])), combine: { depends_on: experts } });
    let decision = play(pipeline, [start, generated('plan')]);
    expect(decision.dispatch).toEqual(experts);
    // Results arrive in any order; the join waits for all of them.
    for (const expert of [...experts].reverse()) {
      decision = play(pipeline, [generated(expert)], decision.next);
      expect(decision.dispatch).toEqual(expert === 'expert_1' ? ['combine'] : []);
    }
    decision = play(pipeline, [generated('combine')], decision.next);
    expect(decision.run).toEqual({ status: 'succeeded' });
  });

  it('never modifies the state it is given', () => {
    const state = deepFreeze(play(diamond, [start]).next);
    const copy = JSON.parse(JSON.stringify(state)) as RunState;
    advanceRun(diamond, state, generated('top'));
    advanceRun(diamond, state, failed('top'));
    advanceRun(diamond, state, { type: 'cancel' });
    expect(state).toEqual(copy);
  });
});
