import type { FailureInfo } from '@trellis/contracts';
import { compilePipeline } from '../spec/compile-pipeline';
import type { CompiledPipeline } from '../spec/compiled-pipeline';
import { advanceRun } from './advance-run';
import { initialRunState, type Decision, type RunEvent, type RunState } from './run-state';

function compile(spec: Record<string, unknown>): CompiledPipeline {
  const result = compilePipeline({ json: { version: 1, name: 'routing', ...spec } }, { defaultModel: 'm', defaultPool: 'p' });
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.pipeline;
}

/** A run driven event by event; `record` stands in for the planner storing a step's output and score. */
class Run {
  state: RunState;
  last!: Decision;
  constructor(
    private readonly pipeline: CompiledPipeline,
    inputs: Record<string, unknown> = {},
  ) {
    this.state = { ...initialRunState(pipeline), inputs };
  }
  apply(event: RunEvent): Decision {
    this.last = advanceRun(this.pipeline, this.state, event);
    this.state = this.last.next;
    return this.last;
  }
  record(stepId: string, output: unknown, score: number | null = null): this {
    const step = this.state.steps[stepId]!;
    this.state = { ...this.state, steps: { ...this.state.steps, [stepId]: { ...step, output, score } } };
    return this;
  }
  generate(stepId: string, output: unknown = `out ${stepId}`): Decision {
    this.record(stepId, output);
    return this.apply({ type: 'generated', stepId, attempt: this.state.steps[stepId]!.attempt });
  }
  status(): Record<string, string> {
    return Object.fromEntries(Object.entries(this.state.steps).map(([id, s]) => [id, s.status]));
  }
}

const boom: FailureInfo = { code: 'model_error', message: 'the model refused', retryable: false };

describe('conditions', () => {
  const pipeline = compile({
    inputs: { lang: { type: 'string', default: 'en' } },
    steps: {
      draft: { prompt: 'd' },
      publish: { prompt: 'p', depends_on: ['draft'], condition: "steps.draft.output.contains('ready') && inputs.lang == 'en'", on_false: 'explain' },
      announce: { prompt: 'a', depends_on: ['publish'] },
      explain: { prompt: 'e' },
    },
  });

  it('runs a step whose condition holds, and skips the route that was not taken', () => {
    const run = new Run(pipeline, { lang: 'en' });
    run.apply({ type: 'start' });
    run.generate('draft', 'ready to ship');
    expect(run.last.dispatch).toEqual(['publish']);
    // Once publish has ended without taking on_false, explain can no longer be routed to.
    const published = run.generate('publish');
    expect(published.completed.find((c) => c.stepId === 'explain')?.reason?.code).toBe('not_routed');
    run.generate('announce');
    expect(run.status()).toEqual({ draft: 'succeeded', publish: 'succeeded', announce: 'succeeded', explain: 'skipped' });
    expect(run.last.run).toEqual({ status: 'succeeded' });
  });

  it('skips a step whose condition is false, skips what depends on it, and takes on_false', () => {
    const run = new Run(pipeline, { lang: 'en' });
    run.apply({ type: 'start' });
    const d = run.generate('draft', 'not yet');
    expect(d.activated).toEqual(['explain']);
    expect(d.dispatch).toEqual(['explain']);
    expect(run.status()).toMatchObject({ publish: 'skipped', announce: 'skipped', explain: 'dispatched' });
    expect(d.completed.find((c) => c.stepId === 'publish')?.reason?.code).toBe('condition_false');
    expect(d.completed.find((c) => c.stepId === 'announce')?.reason).toMatchObject({ code: 'dependency_not_succeeded', message: 'dependency "publish" skipped' });
    run.generate('explain');
    expect(run.last.run).toEqual({ status: 'succeeded' });
  });

  it('reads the run inputs', () => {
    const run = new Run(pipeline, { lang: 'fr' });
    run.apply({ type: 'start' });
    run.generate('draft', 'ready');
    expect(run.status()).toMatchObject({ publish: 'skipped', explain: 'dispatched' });
  });

  it('fails the step when the condition cannot be evaluated, naming the expression', () => {
    const p = compile({ steps: { a: { prompt: 'a', output: { format: 'json' } }, b: { prompt: 'b', depends_on: ['a'], condition: 'steps.a.output.count > 2' } } });
    const run = new Run(p);
    run.apply({ type: 'start' });
    const d = run.generate('a', { other: 1 });
    expect(d.run?.status).toBe('failed');
    expect(d.run?.error).toMatchObject({ code: 'condition_error' });
    expect(d.run?.error?.message).toContain('steps.a.output.count > 2');
  });

  it('compares a score', () => {
    const p = compile({ steps: { a: { prompt: 'a', verify: { gates: ['json'] } }, b: { prompt: 'b', depends_on: ['a'], condition: 'steps.a.score >= 0.8' } } });
    const run = new Run(p);
    run.apply({ type: 'start' });
    run.generate('a');
    run.record('a', 'x', 0.9).apply({ type: 'verified', stepId: 'a', attempt: 1, verdict: 'accept', iteration: 1 });
    expect(run.last.dispatch).toEqual(['b']);
  });
});

describe('on_success and on_failure', () => {
  // The brief of DESIGN §5: a gated draft, a conditional publish, an apology on either failure.
  const brief = compile({
    steps: {
      draft: { prompt: 'd', verify: { gates: ['json'] }, on_failure: 'apologize' },
      publish: { tool: 'http', with: { url: 'https://example.invalid' }, depends_on: ['draft'], condition: 'steps.draft.score >= 0.8', on_false: 'apologize' },
      apologize: { prompt: 'sorry' },
    },
  });

  it('publishes an accepted draft and never apologizes', () => {
    const run = new Run(brief);
    run.apply({ type: 'start' });
    run.generate('draft');
    run.record('draft', 'x', 0.9).apply({ type: 'verified', stepId: 'draft', attempt: 1, verdict: 'accept', iteration: 1 });
    run.generate('publish');
    expect(run.status()).toEqual({ draft: 'succeeded', publish: 'succeeded', apologize: 'skipped' });
    expect(run.last.run).toEqual({ status: 'succeeded' });
  });

  it('handles a rejected draft by apologizing; the run goes on and succeeds', () => {
    const run = new Run(brief);
    run.apply({ type: 'start' });
    run.generate('draft');
    const d = run.apply({ type: 'verified', stepId: 'draft', attempt: 1, verdict: 'reject', iteration: 1 });
    expect(d.run).toBeUndefined();
    expect(d.activated).toEqual(['apologize']);
    expect(run.status()).toEqual({ draft: 'failed', publish: 'skipped', apologize: 'dispatched' });
    run.generate('apologize');
    expect(run.last.run).toEqual({ status: 'succeeded' });
  });

  it('apologizes when the draft scores under the bar', () => {
    const run = new Run(brief);
    run.apply({ type: 'start' });
    run.generate('draft');
    run.record('draft', 'x', 0.5).apply({ type: 'verified', stepId: 'draft', attempt: 1, verdict: 'accept', iteration: 1 });
    expect(run.status()).toEqual({ draft: 'succeeded', publish: 'skipped', apologize: 'dispatched' });
  });

  it('fires on_success', () => {
    const p = compile({ steps: { a: { prompt: 'a', on_success: 'celebrate' }, celebrate: { prompt: 'c' } } });
    const run = new Run(p);
    expect(run.apply({ type: 'start' }).dispatch).toEqual(['a']);
    const d = run.generate('a');
    expect(d.activated).toEqual(['celebrate']);
    expect(d.dispatch).toEqual(['celebrate']);
  });

  it('fails the run when a failure has no on_failure, even with a handler elsewhere', () => {
    const p = compile({ steps: { a: { prompt: 'a', on_failure: 'h' }, b: { prompt: 'b' }, h: { prompt: 'h' } } });
    const run = new Run(p);
    run.apply({ type: 'start' });
    const d = run.apply({ type: 'failed', stepId: 'b', attempt: 1, error: boom });
    expect(d.run).toEqual({ status: 'failed', error: boom });
    expect(run.status()).toEqual({ a: 'cancelled', b: 'failed', h: 'skipped' });
  });

  it('waits for a routed step until its sources are done, then skips it', () => {
    const p = compile({ steps: { a: { prompt: 'a', on_failure: 'h' }, b: { prompt: 'b', depends_on: ['a'] }, h: { prompt: 'h' } } });
    const run = new Run(p);
    run.apply({ type: 'start' });
    expect(run.status()).toEqual({ a: 'dispatched', b: 'pending', h: 'pending' });
    run.generate('a');
    expect(run.status()).toEqual({ a: 'succeeded', b: 'dispatched', h: 'skipped' });
  });
});

describe('resume', () => {
  const chain = compile({ steps: { a: { prompt: 'a' }, b: { prompt: 'b', depends_on: ['a'] }, c: { prompt: 'c', depends_on: ['b'] } } });

  it('re-runs the failed step and what follows, keeping completed outputs', () => {
    const run = new Run(chain);
    run.apply({ type: 'start' });
    run.generate('a');
    run.apply({ type: 'failed', stepId: 'b', attempt: 1, error: boom });
    expect(run.state.status).toBe('failed');
    const d = run.apply({ type: 'resume' });
    expect(d.next.status).toBe('running');
    expect(d.dispatch).toEqual(['b']);
    expect(run.state.steps.b).toMatchObject({ status: 'dispatched', attempt: 2 });
    expect(run.state.steps.a).toMatchObject({ status: 'succeeded', attempt: 1 });
    // A late result of the superseded attempt changes nothing.
    expect(run.apply({ type: 'generated', stepId: 'b', attempt: 1 }).applied).toBe(false);
    run.generate('b');
    run.generate('c');
    expect(run.last.run).toEqual({ status: 'succeeded' });
  });

  it('resumes a cancelled run', () => {
    const run = new Run(chain);
    run.apply({ type: 'start' });
    run.apply({ type: 'cancel' });
    expect(run.status()).toEqual({ a: 'cancelled', b: 'skipped', c: 'skipped' });
    expect(run.apply({ type: 'resume' }).dispatch).toEqual(['a']);
  });

  it('ignores resume on a running or succeeded run', () => {
    const run = new Run(chain);
    run.apply({ type: 'start' });
    expect(run.apply({ type: 'resume' })).toMatchObject({ applied: false, ignoredReason: expect.stringContaining('running') });
  });
});
