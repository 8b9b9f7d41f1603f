import type { ResolvedTemplate, StepGenerated, StepReady, StepVerified, VerifyRequested } from '@trellis/contracts';
import { compilePipeline } from '../spec/compile-pipeline';
import type { CompiledPipeline } from '../spec/compiled-pipeline';
import { decideRunChange, type Outgoing, type RunChange, type RunInput } from './run-change';
import { newRunSnapshot, type RunSnapshot } from './run-record';
import { admits, concurrencyGroup, estimatedWaitMs } from './admission';

const NOW = new Date('2026-12-04T12:00:00.000Z');
const RUN_ID = '01934a5c-0000-7000-8000-000000000001';

function compile(spec: Record<string, unknown>): CompiledPipeline {
  const result = compilePipeline({ json: { version: 1, name: 'p', ...spec } }, { defaultModel: 'm', defaultPool: 'default', catalog: { m: { tier: 1, inputPrice: 1, outputPrice: 1 }, strong: { tier: 3, inputPrice: 10, outputPrice: 10 } } });
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.pipeline;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
}

/** A run of `pipeline`, with every input applied in order to a frozen snapshot (so any mutation throws). */
class Run {
  snapshot: RunSnapshot;
  last!: RunChange;

  constructor(
    readonly pipeline: CompiledPipeline,
    inputs: Record<string, unknown> = {},
  ) {
    this.snapshot = newRunSnapshot(pipeline, { id: RUN_ID, project: 'acme', pipeline: 'p', pipelineVersion: 1, inputs, templates: [], subject: null, stream: false, actor: null, recording: true, priority: 3, concurrencyKey: null, createdAt: new Date(NOW.getTime() - 1000) });
  }

  apply(input: RunInput): RunChange {
    const change = decideRunChange(this.pipeline, deepFreeze(this.snapshot), input, NOW);
    if (!change.applied) throw new Error(`ignored: ${change.reason}`);
    this.snapshot = change.next;
    this.last = change;
    return change;
  }

  ignored(input: RunInput): string {
    const change = decideRunChange(this.pipeline, deepFreeze(this.snapshot), input, NOW);
    if (change.applied) throw new Error('applied');
    return change.reason;
  }

  step(id: string) {
    return this.snapshot.steps[id]!;
  }

  /** The job of the step attempt the last change dispatched. */
  job(stepId: string): StepReady {
    const found = this.last.messages.find((m): m is Extract<Outgoing, { queue: 'step' }> => m.queue === 'step' && m.data.stepId === stepId);
    if (!found) throw new Error(`no job for ${stepId} in ${JSON.stringify(this.last.messages.map((m) => m.id))}`);
    return found.data;
  }

  verifyJob(stepId: string): VerifyRequested {
    const found = this.last.messages.find((m): m is Extract<Outgoing, { queue: 'verify' }> => m.queue === 'verify' && m.data.stepId === stepId);
    if (!found) throw new Error(`no verify job for ${stepId}`);
    return found.data;
  }

  eventTypes(): string[] {
    return this.last.messages.filter((m) => m.queue === 'event').map((m) => m.contract.type.replace('dev.trellis.', ''));
  }
}

function generated(stepId: string, attempt: number, output: string, extra: Partial<StepGenerated> = {}): RunInput {
  return {
    type: 'generated',
    result: {
      runId: RUN_ID,
      stepId,
      attempt,
      output,
      model: 'm',
      messages: [{ role: 'user', content: `do ${stepId}` }],
      usage: { inputTokens: 10, outputTokens: 5 },
      cost: 0.01,
      finishReason: 'stop',
      startedAt: NOW.toISOString(),
      finishedAt: NOW.toISOString(),
      executor: 'executor-1',
      ...extra,
    },
  };
}

function verified(stepId: string, attempt: number, verdict: StepVerified['verdict'], score: number, extra: Partial<StepVerified> = {}): RunInput {
  return { type: 'verified', result: { runId: RUN_ID, stepId, attempt, verdict, score, categories: {}, violations: [], iteration: attempt, ...extra } };
}

const chain = compile({
  inputs: { idea: { type: 'string' } },
  steps: { a: { prompt: 'a {{ inputs.idea }}' }, b: { depends_on: ['a'], prompt: 'b {{ steps.a.output }}' }, c: { depends_on: ['b'], prompt: 'c {{ steps.a.output }} {{ steps.b.output }}' } },
});

describe('decideRunChange: start', () => {
  it('announces the run and dispatches its roots with the inputs', () => {
    const run = new Run(chain, { idea: 'kettle' });
    const change = run.apply({ type: 'start' });
    expect(run.eventTypes()).toEqual(['run.started', 'step.dispatched']);
    expect(run.job('a')).toMatchObject({ runId: RUN_ID, project: 'acme', stepId: 'a', attempt: 1, pool: 'default', model: 'm', prompt: 'a {{ inputs.idea }}', context: { inputs: { idea: 'kettle' }, steps: {} } });
    expect(change.steps).toEqual({ a: { status: 'dispatched', attempt: 1, dispatchedAt: NOW, startedAt: null, finishedAt: null, error: null } });
    expect(change.run).toEqual({ version: 1, status: 'running', startedAt: NOW });
    expect(change.messages.find((m) => m.queue === 'step')?.id).toBe(`step-ready.${RUN_ID}.a.1`);
  });

  it('starts a run once', () => {
    const run = new Run(chain);
    run.apply({ type: 'start' });
    expect(run.ignored({ type: 'start' })).toBe('run already started');
  });
});

describe('decideRunChange: results', () => {
  it('records the answer, its usage and cost, and dispatches what it unblocks with the outputs it reads', () => {
    const run = new Run(chain, { idea: 'kettle' });
    run.apply({ type: 'start' });
    const change = run.apply(generated('a', 1, 'A!'));
    expect(run.step('a')).toMatchObject({ status: 'succeeded', output: 'A!', inputTokens: 10, outputTokens: 5, cost: 0.01, executor: 'executor-1', finishedAt: NOW });
    expect(run.snapshot.run).toMatchObject({ inputTokens: 10, outputTokens: 5, cost: 0.01, version: 2 });
    expect(run.eventTypes()).toEqual(['step.dispatched', 'step.completed']);
    expect(run.job('b').context.steps).toEqual({ a: { output: 'A!' } });
    expect(change.steps.a).toMatchObject({ status: 'succeeded', output: 'A!' });
  });

  it('gives a step the outputs of every step its texts read, not only its dependencies', () => {
    const run = new Run(chain);
    run.apply({ type: 'start' });
    run.apply(generated('a', 1, 'A!'));
    run.apply(generated('b', 1, 'B!'));
    expect(run.job('c').context.steps).toEqual({ a: { output: 'A!' }, b: { output: 'B!' } });
  });

  it("gives a template step the outputs its `with:` reads through an indirect dependency", () => {
    const pipeline = compile({
      steps: {
        a: { prompt: 'a' },
        b: { depends_on: ['a'], prompt: 'b' },
        c: { depends_on: ['b'], template: 'summary@production', with: { text: '{{ steps.a.output }}', nested: ['{{ steps.b.output }}'] } },
      },
    });
    expect(pipeline.steps.c!.reads.sort()).toEqual(['a', 'b']);
    const run = new Run(pipeline);
    run.snapshot = { ...run.snapshot, run: { ...run.snapshot.run, templates: [{ ref: 'summary@production', name: 'summary', category: 'prompt', version: 3, label: 'production', level: 'global', body: 'Sum {{ inputs.text }}', variables: ['text'], parameters: {}, experiment: null }] } };
    run.apply({ type: 'start' });
    run.apply(generated('a', 1, 'A!'));
    run.apply(generated('b', 1, 'B!'));
    expect(run.job('c')).toMatchObject({ template: { name: 'summary', version: 3, with: { text: '{{ steps.a.output }}' } }, context: { steps: { a: { output: 'A!' }, b: { output: 'B!' } } } });
  });

  it('parses nothing itself: a JSON output reaches conditions and later steps as the executor parsed it', () => {
    const pipeline = compile({ steps: { a: { prompt: 'a', output: { format: 'json' } }, b: { depends_on: ['a'], condition: 'steps.a.output.go == true', prompt: 'b {{ steps.a.output.go }}' } } });
    const run = new Run(pipeline);
    run.apply({ type: 'start' });
    run.apply(generated('a', 1, '{"go":true}', { structured: { go: true } }));
    expect(run.job('b').context.steps).toEqual({ a: { output: { go: true } } });
  });

  it('ignores a repeated or stale result and a result for an unknown step', () => {
    const run = new Run(chain);
    run.apply({ type: 'start' });
    run.apply(generated('a', 1, 'A!'));
    expect(run.ignored(generated('a', 1, 'again'))).toBe('step "a" is already succeeded');
    expect(run.ignored(generated('b', 2, 'future'))).toContain('stale event');
    expect(run.ignored(generated('zz', 1, '?'))).toBe('unknown step "zz"');
    expect(run.step('a').output).toBe('A!');
  });

  it('fails the run on a failure without on_failure: pending steps skipped, the run announced with its usage', () => {
    const run = new Run(chain);
    run.apply({ type: 'start' });
    run.apply({ type: 'failed', result: { runId: RUN_ID, stepId: 'a', attempt: 1, error: { code: 'model_error', message: 'refused', retryable: false }, executor: 'executor-2' } });
    expect(run.step('a')).toMatchObject({ status: 'failed', error: { code: 'model_error' }, executor: 'executor-2' });
    expect(run.step('b')).toMatchObject({ status: 'skipped', error: { code: 'run_failed' } });
    expect(run.snapshot.run).toMatchObject({ status: 'failed', error: { code: 'model_error' }, finishedAt: NOW });
    expect(run.eventTypes()).toEqual(['step.completed', 'step.completed', 'step.completed', 'run.completed']);
    const completed = run.last.messages.at(-1)!;
    expect(completed.data).toMatchObject({ status: 'failed', usage: { inputTokens: 0, outputTokens: 0 }, durationMs: 1000 });
  });

  it('builds the same message ids when the same input is decided again (a batch retried after a failed commit)', () => {
    const run = new Run(chain);
    run.apply({ type: 'start' });
    const first = decideRunChange(chain, run.snapshot, generated('a', 1, 'A!'), NOW);
    const again = decideRunChange(chain, run.snapshot, generated('a', 1, 'A!'), NOW);
    if (!first.applied || !again.applied) throw new Error('ignored');
    expect(again.messages.map((m) => m.id)).toEqual(first.messages.map((m) => m.id));
    expect(new Set(first.messages.map((m) => m.id)).size).toBe(first.messages.length);
  });
});

describe('decideRunChange: the verification loop', () => {
  const gated = compile({
    selection: 'cost',
    experts: { writing: ['m', 'strong'] },
    steps: {
      draft: { expert: 'writing', prompt: 'draft', verify: { gates: ['json'], iterate: { max: 2, improvement_threshold: 0.05 }, escalate: true } },
      after: { depends_on: ['draft'], prompt: 'after {{ steps.draft.output }}' },
    },
  });

  it('sends a candidate to the verifier with its round, policy and escalation target', () => {
    const run = new Run(gated);
    run.apply({ type: 'start' });
    expect(run.job('draft')).toMatchObject({ iteration: 1, model: 'm' });
    run.apply(generated('draft', 1, 'v1'));
    expect(run.step('draft').status).toBe('verifying');
    expect(run.verifyJob('draft')).toMatchObject({ attempt: 1, iteration: 1, output: 'v1', history: [], escalated: false, escalateTo: 'strong', policy: { maxIterations: 2 } });
  });

  it('revises with the feedback in the next round, then escalates once, then keeps the best candidate on rejection', () => {
    const run = new Run(gated);
    run.apply({ type: 'start' });
    run.apply(generated('draft', 1, 'v1'));
    run.apply(verified('draft', 1, 'retry', 0.6, { feedback: 'be concrete', best: { iteration: 1, attempt: 1, score: 0.6 } }));
    expect(run.job('draft')).toMatchObject({ attempt: 2, iteration: 2, feedback: 'be concrete', previousOutput: 'v1', model: 'm' });

    run.apply(generated('draft', 2, 'v2'));
    expect(run.verifyJob('draft').history).toEqual([{ iteration: 1, attempt: 1, score: 0.6, critical: false, model: 'm', escalated: false }]);
    run.apply(verified('draft', 2, 'escalate', 0.5, { feedback: 'still vague', escalateTo: 'strong', stop: 'max_iterations', best: { iteration: 1, attempt: 1, score: 0.6 }, reviseBest: true }));
    // The escalation round revises the best candidate so far (round 1's), on the stronger model.
    expect(run.job('draft')).toMatchObject({ attempt: 3, iteration: 3, model: 'strong', previousOutput: 'v1', feedback: 'still vague' });
    expect(run.step('draft').iterations.map((r) => [r.iteration, r.model, r.escalated])).toEqual([
      [1, 'm', false],
      [2, 'm', false],
      [3, 'strong', true],
    ]);

    run.apply(generated('draft', 3, 'v3'));
    expect(run.verifyJob('draft')).toMatchObject({ escalated: true });
    expect(run.verifyJob('draft').escalateTo).toBeUndefined();
    run.apply(verified('draft', 3, 'reject', 0.4, { stop: 'escalation_failed', reason: 'not accepted', best: { iteration: 1, attempt: 1, score: 0.6 } }));
    expect(run.step('draft')).toMatchObject({ status: 'failed', output: 'v1', score: 0.6, stopReason: 'escalation_failed', error: { code: 'verification_rejected' } });
    expect(run.snapshot.run.status).toBe('failed');
  });

  it('accepts: the step succeeds and its dependents run', () => {
    const run = new Run(gated);
    run.apply({ type: 'start' });
    run.apply(generated('draft', 1, 'v1'));
    run.apply(verified('draft', 1, 'accept', 0.9, { stop: 'accepted', judgeUsage: { inputTokens: 3, outputTokens: 2 } }));
    expect(run.step('draft')).toMatchObject({ status: 'succeeded', score: 0.9, stopReason: 'accepted', inputTokens: 13, outputTokens: 7 });
    expect(run.snapshot.run).toMatchObject({ inputTokens: 13, outputTokens: 7 });
    expect(run.job('after').context.steps).toEqual({ draft: { output: 'v1' } });
  });

  it("counts on the run only what a replay spent: a recorded answer and a recorded judge's tokens show on the step, not in the run's totals", () => {
    const run = new Run(gated);
    run.apply({ type: 'start' });
    run.apply(generated('draft', 1, 'v1', { replayed: true }));
    expect(run.snapshot.run).toMatchObject({ inputTokens: 0, outputTokens: 0, cost: 0 });
    const judge = (call: string, inputTokens: number, outputTokens: number, replayed: boolean) => ({
      call,
      request: { kind: 'model' as const, model: 'j', messages: [], params: {} },
      answer: { output: '{}', model: 'j', usage: { inputTokens, outputTokens }, finishReason: 'stop' },
      ...(replayed ? { replayed } : {}),
    });
    run.apply(verified('draft', 1, 'accept', 0.9, { judgeUsage: { inputTokens: 5, outputTokens: 3 }, calls: [judge('judge.0', 3, 2, true), judge('judge.1', 2, 1, false)] }));
    expect(run.step('draft')).toMatchObject({ inputTokens: 15, outputTokens: 8, cost: 0.01 });
    expect(run.snapshot.run).toMatchObject({ inputTokens: 2, outputTokens: 1, cost: 0 });
  });
});

describe('decideRunChange: cancel and resume', () => {
  it('cancels: in-flight steps cancelled, pending skipped, the run ends', () => {
    const run = new Run(chain);
    run.apply({ type: 'start' });
    run.apply({ type: 'cancel' });
    expect(run.step('a').status).toBe('cancelled');
    expect(run.snapshot.run).toMatchObject({ status: 'cancelled', finishedAt: NOW });
    expect(run.eventTypes().at(-1)).toBe('run.completed');
    expect(run.ignored({ type: 'cancel' })).toBe('run is cancelled');
  });

  it('resumes a failed run: failed and skipped steps run again at a new attempt, completed outputs kept', () => {
    const run = new Run(chain);
    run.apply({ type: 'start' });
    run.apply(generated('a', 1, 'A!'));
    run.apply({ type: 'failed', result: { runId: RUN_ID, stepId: 'b', attempt: 1, error: { code: 'model_error', message: 'refused', retryable: false } } });
    run.apply({ type: 'resume' });
    expect(run.eventTypes()).toEqual(['step.dispatched', 'run.resumed']);
    expect(run.last.messages.find((m) => m.contract.type.endsWith('run.resumed'))?.data).toEqual({ runId: RUN_ID, steps: ['b', 'c'] });
    expect(run.step('b')).toMatchObject({ status: 'dispatched', attempt: 2, error: null });
    expect(run.job('b').context.steps).toEqual({ a: { output: 'A!' } });
    expect(run.snapshot.run).toMatchObject({ status: 'running', error: null, finishedAt: null });
  });
});

describe('decideRunChange: products', () => {
  const withProducts = compile({ steps: { a: { prompt: 'a' } }, products: [{ path: 'out.md', from: '# {{ steps.a.output }}' }] });

  it('asks for the products before the run ends, then ends it with them', () => {
    const run = new Run(withProducts);
    run.apply({ type: 'start' });
    run.apply(generated('a', 1, 'A!'));
    expect(run.snapshot.run.status).toBe('running');
    expect(run.last.messages.map((m) => m.queue)).toEqual(['event', 'products']);
    run.apply({ type: 'products', products: [{ path: 'out.md', contentType: 'text/markdown; charset=utf-8', size: 4 }] });
    expect(run.snapshot.run).toMatchObject({ status: 'succeeded', products: [{ path: 'out.md', size: 4 }] });
    expect(run.eventTypes()).toEqual(['run.completed']);
    expect(run.ignored({ type: 'products', products: [] })).toBe('run is succeeded');
  });

  it('ignores products of a run cancelled while they were written', () => {
    const run = new Run(withProducts);
    run.apply({ type: 'start' });
    run.apply(generated('a', 1, 'A!'));
    run.apply({ type: 'cancel' });
    expect(run.snapshot.run.status).toBe('cancelled');
    expect(run.ignored({ type: 'products', products: [] })).toBe('run is cancelled');
  });

  it('fails the run naming the product that could not be built', () => {
    const run = new Run(withProducts);
    run.apply({ type: 'start' });
    run.apply(generated('a', 1, 'A!'));
    run.apply({ type: 'products', products: [], error: { code: 'product_failed', message: 'product "out.md": bad', retryable: false } });
    expect(run.snapshot.run).toMatchObject({ status: 'failed', error: { code: 'product_failed' } });
  });
});

describe('decideRunChange: experiment outcomes', () => {
  const pitch = { ref: 'pitch', name: 'pitch', category: 'prompt' as const, version: 2, label: null, level: 'project' as const, body: 'Pitch {{ inputs.x }}', variables: ['x'], parameters: {} };
  const pipeline = compile({ steps: { a: { template: 'pitch', with: { x: 'y' }, verify: { gates: ['json'] } } } });

  it('tells the registry the verdicts, the steps that ended and the run\'s end of a run in an experiment', () => {
    const run = new Run(pipeline);
    run.snapshot = { ...run.snapshot, run: { ...run.snapshot.run, templates: [{ ...pitch, experiment: { id: 'exp-1', variant: 'b' } }] } };
    run.apply({ type: 'start' });
    expect(run.last.messages.some((m) => m.queue === 'experiments')).toBe(false);
    run.apply(generated('a', 1, '{}'));
    run.apply(verified('a', 1, 'accept', 0.9, { stop: 'accepted' }));
    const outcome = run.last.messages.find((m) => m.queue === 'experiments');
    expect(outcome?.data).toEqual({
      runId: RUN_ID,
      steps: [
        { stepId: 'a', attempt: 1, verdict: 'accept', score: 0.9 },
        { stepId: 'a', attempt: 1, status: 'succeeded' },
      ],
      run: { status: 'succeeded', usage: { inputTokens: 10, outputTokens: 5 }, cost: 0.01, durationMs: 1000 },
    });
  });

  it('sends nothing about a run in no experiment', () => {
    const run = new Run(pipeline);
    run.snapshot = { ...run.snapshot, run: { ...run.snapshot.run, templates: [{ ...pitch, experiment: null }] } };
    run.apply({ type: 'start' });
    run.apply(generated('a', 1, '{}'));
    run.apply(verified('a', 1, 'accept', 0.9, { stop: 'accepted' }));
    expect(run.last.messages.map((m) => m.queue)).not.toContain('experiments');
  });
});

describe('decideRunChange: continuations', () => {
  it("gives a step's job the jobs of the steps its success alone makes ready, without its output", () => {
    const run = new Run(chain, { idea: 'kettle' });
    run.apply({ type: 'start' });
    expect(run.job('a').then).toEqual([
      expect.objectContaining({ stepId: 'b', attempt: 1, prompt: 'b {{ steps.a.output }}', context: { inputs: { idea: 'kettle' }, steps: {} } }),
    ]);
    // c reads a as well, final by the time b is dispatched: its job carries a's output, not b's.
    run.apply(generated('a', 1, 'A!'));
    expect(run.job('b').then).toEqual([expect.objectContaining({ stepId: 'c', context: { inputs: { idea: 'kettle' }, steps: { a: { output: 'A!' } } } })]);
  });

  it('records a continued step dispatched without publishing its job again, and applies its result after', () => {
    const run = new Run(chain);
    run.apply({ type: 'start' });
    const early = decideRunChange(chain, run.snapshot, generated('b', 1, 'B!'), NOW);
    expect(early).toMatchObject({ applied: false, early: true });
    run.apply(generated('a', 1, 'A!', { continued: ['b'] }));
    expect(run.step('b')).toMatchObject({ status: 'dispatched', attempt: 1, dispatchedAt: NOW });
    expect(run.last.messages.filter((m) => m.queue === 'step')).toEqual([]);
    expect(run.eventTypes()).toEqual(['step.dispatched', 'step.completed']);
    run.apply(generated('b', 1, 'B!'));
    expect(run.step('b')).toMatchObject({ status: 'succeeded', output: 'B!' });
  });

  it('dispatches a continued step even when its pool holds ready steps for fair dispatch', () => {
    const run = new Run(chain);
    run.apply({ type: 'start' });
    const change = decideRunChange(chain, run.snapshot, generated('a', 1, 'A!', { continued: ['b'] }), NOW, { hold: () => true });
    if (!change.applied) throw new Error(change.reason);
    expect(change.next.steps.b).toMatchObject({ status: 'dispatched', attempt: 1 });
  });

  it('continues nothing a condition, a route, a second dependency or gates could stop', () => {
    const pipeline = compile({
      steps: {
        a: { prompt: 'a' },
        cond: { depends_on: ['a'], condition: 'true', prompt: 'c' },
        both: { depends_on: ['a', 'other'], prompt: 'b' },
        other: { prompt: 'o' },
        plain: { depends_on: ['a'], prompt: 'p {{ steps.a.output }}' },
        gated: { prompt: 'g', verify: { gates: ['json'] } },
        after: { depends_on: ['gated'], prompt: 'x' },
      },
    });
    const run = new Run(pipeline);
    run.apply({ type: 'start' });
    expect(run.job('a').then?.map((j) => j.stepId)).toEqual(['plain']);
    expect(run.job('gated').then).toBeUndefined();
  });

  it('continues nothing in a project with a budget: an answer may spend it', () => {
    const run = new Run(chain);
    const failure = { code: 'budget_exhausted', message: 'spent', retryable: false };
    const change = decideRunChange(chain, run.snapshot, { type: 'start' }, NOW, { budget: { tokens: 1000, failure } });
    if (!change.applied) throw new Error(change.reason);
    expect(change.messages.find((m) => m.queue === 'step')?.data).not.toHaveProperty('then');
  });
});

describe('decideRunChange: admission and fair dispatch', () => {
  it('announces a run that waits, starts it later with how long it waited, and cancels one that waits', () => {
    const run = new Run(chain);
    run.apply({ type: 'queue', position: 4, estimatedWaitMs: 1200 });
    expect(run.snapshot.run).toMatchObject({ status: 'queued', startedAt: null });
    expect(run.eventTypes()).toEqual(['run.queued']);
    expect(run.last.messages[0]!.data).toMatchObject({ position: 4, estimatedWaitMs: 1200, priority: 3 });
    expect(run.ignored(generated('a', 1, '?'))).toBe('run is queued');
    run.apply({ type: 'start' });
    expect(run.snapshot.run).toMatchObject({ status: 'running', startedAt: NOW });
    expect(run.last.messages.find((m) => m.contract.type.endsWith('run.started'))?.data).toMatchObject({ queuedMs: 1000, priority: 3 });

    const waiting = new Run(chain);
    waiting.apply({ type: 'queue', position: 1, estimatedWaitMs: null });
    waiting.apply({ type: 'cancel' });
    expect(waiting.snapshot.run.status).toBe('cancelled');
    expect(waiting.step('a')).toMatchObject({ status: 'skipped', error: { code: 'run_cancelled' } });
    expect(waiting.ignored({ type: 'start' })).toBe('run is cancelled');
  });

  it('holds the ready steps of a busy pool, and dispatches them when released', () => {
    const run = new Run(chain);
    const held = decideRunChange(chain, run.snapshot, { type: 'start' }, NOW, { hold: (pool) => pool === 'default' });
    if (!held.applied) throw new Error(held.reason);
    expect(held.next.steps.a).toMatchObject({ status: 'queued', attempt: 0 });
    expect(held.messages.map((m) => m.queue)).toEqual(['event']);
    run.snapshot = held.next;
    run.apply({ type: 'release', steps: ['a'] });
    expect(run.step('a')).toMatchObject({ status: 'dispatched', attempt: 1 });
    expect(run.job('a').attempt).toBe(1);
    expect(run.ignored({ type: 'release', steps: ['a'] })).toBe('no step to release is queued');
  });

  it('fails the steps a spent budget refuses, lets the ones in flight finish, then fails the run', () => {
    const fan = compile({ steps: { a: { prompt: 'a' }, b: { prompt: 'b' }, c: { depends_on: ['a'], prompt: 'c' } } });
    const run = new Run(fan);
    run.apply({ type: 'start' });
    const budget = { code: 'budget_exhausted', message: 'the project spent its maxTokensPerDay (1000)', retryable: false };
    // 12 tokens left; a's answer records 15: what it unblocks is refused.
    const spent = decideRunChange(fan, run.snapshot, generated('a', 1, 'A!'), NOW, { budget: { tokens: 12, failure: budget } });
    if (!spent.applied) throw new Error(spent.reason);
    expect(spent.next.steps.c).toMatchObject({ status: 'failed', error: budget });
    expect(spent.next.steps.b!.status).toBe('dispatched');
    expect(spent.next.run.status).toBe('running');
    expect(decideRunChange(fan, run.snapshot, generated('a', 1, 'A!'), NOW, { budget: { tokens: 16, failure: budget } })).toMatchObject({ applied: true, next: { steps: { c: { status: 'dispatched' } } } });
    run.snapshot = spent.next;
    run.apply(generated('b', 1, 'B!'));
    expect(run.step('b').status).toBe('succeeded');
    expect(run.snapshot.run).toMatchObject({ status: 'failed', error: budget });
  });
});

describe('concurrency keys', () => {
  it('groups runs by the value of the key, and refuses a key that reads steps or unknown inputs', () => {
    const keyed = compile({ inputs: { customer_id: { type: 'string' } }, concurrency: { max: 2, key: 'inputs.customer_id' }, steps: { a: { prompt: 'a' } } });
    expect(concurrencyGroup(keyed, { customer_id: 'acme' })).toEqual({ ok: true, group: 'p#acme' });
    expect(concurrencyGroup(compile({ concurrency: { max: 1 }, steps: { a: { prompt: 'a' } } }), {})).toEqual({ ok: true, group: 'p' });
    expect(concurrencyGroup(chain, {})).toEqual({ ok: true, group: null });
    const bad = compilePipeline({ json: { version: 1, name: 'p', concurrency: { max: 1, key: 'steps.a.output' }, inputs: {}, steps: { a: { prompt: 'a' } } } }, { defaultModel: 'm', defaultPool: 'default' });
    expect(bad.ok ? [] : bad.issues.map((i) => i.message)).toEqual(['concurrency key: it is computed when the run is submitted, before any step: read inputs only']);
    const unknown = compilePipeline({ json: { version: 1, name: 'p', concurrency: { max: 1, key: 'inputs.who' }, steps: { a: { prompt: 'a' } } } }, { defaultModel: 'm', defaultPool: 'default' });
    expect(unknown.ok ? [] : unknown.issues.map((i) => i.message)).toEqual(['concurrency key: unknown input "who"']);
  });

  it('admits a run under both its project\'s and its group\'s limit, and estimates a wait from recent runs', () => {
    expect(admits({ maxRunning: 2 }, { project: 1 })).toBe(true);
    expect(admits({ maxRunning: 2 }, { project: 2 })).toBe(false);
    expect(admits({ maxRunning: 10, groupMax: 2 }, { project: 1, group: 2 })).toBe(false);
    expect(estimatedWaitMs(5, 2, 1000)).toBe(3000);
    expect(estimatedWaitMs(1, 2, null)).toBeNull();
  });
});

describe('decideRunChange: the orchestration templates a run pinned', () => {
  const pinned = (ref: string, category: ResolvedTemplate['category'], body: ResolvedTemplate['body'], extra: Partial<ResolvedTemplate> = {}): ResolvedTemplate => ({
    ref,
    name: ref.split('@')[0]!,
    category,
    version: 4,
    label: 'production',
    level: 'project',
    body,
    variables: [],
    parameters: {},
    experiment: null,
    ...extra,
  });
  const withPins = (pipeline: CompiledPipeline, templates: ResolvedTemplate[]) => {
    const run = new Run(pipeline);
    run.snapshot = { ...run.snapshot, run: { ...run.snapshot.run, templates } };
    return run;
  };

  it("puts the pinned personality before the step's own system text, and the built-in one for a run that pinned none", () => {
    const pipeline = compile({ steps: { a: { prompt: 'a', system: 'In French.' } } });
    const run = withPins(pipeline, [pinned('standard', 'personality', 'You are terse.')]);
    run.apply({ type: 'start' });
    expect(run.job('a').system).toBe('You are terse.\n\nIn French.');
    const legacy = new Run(pipeline);
    legacy.apply({ type: 'start' });
    expect(legacy.job('a').system).toBe('You are a careful, precise assistant. Answer the task directly, without preamble.\n\nIn French.');
  });

  it("sends a template step's version parameters, under the step's own settings, and shows them on the step", () => {
    const pipeline = compile({ steps: { a: { template: 'pitch', with: {}, max_tokens: 99 } } });
    const run = withPins(pipeline, [pinned('standard', 'personality', 'P.'), pinned('pitch', 'prompt', 'Pitch.', { parameters: { model: 'strong', temperature: 0.1, max_tokens: 500, seed: 3 } })]);
    run.apply({ type: 'start' });
    expect(run.job('a')).toMatchObject({ model: 'strong', params: { temperature: 0.1, maxTokens: 99, seed: 3 }, template: { name: 'pitch', version: 4 } });
    expect(run.eventTypes()).toContain('step.dispatched');
  });

  it("gives the verifier the pinned judge and feedback prompts, and the judge model: the pipeline's, else the judge template's, else none (the verifier's default)", () => {
    const judge = pinned('trellis.judge', 'judge', 'Judge {{ inputs.candidate }}', { parameters: { model: 'judge-model', temperature: 0.3 } });
    const feedback = pinned('trellis.feedback', 'orchestration', 'Fix it.');
    const gates = [{ judge: { rubric: 'r' } }];
    const run = withPins(compile({ steps: { a: { prompt: 'a', verify: { gates } } } }), [pinned('standard', 'personality', 'P.'), judge, feedback]);
    run.apply({ type: 'start' });
    run.apply(generated('a', 1, 'v1'));
    expect(run.verifyJob('a')).toMatchObject({
      judgeModel: 'judge-model',
      judgeTemplate: { name: 'trellis.judge', version: 4, body: 'Judge {{ inputs.candidate }}', parameters: { model: 'judge-model', temperature: 0.3 } },
      feedbackTemplate: { name: 'trellis.feedback', version: 4, body: 'Fix it.' },
    });
    const pipelineModel = withPins(compile({ defaults: { verify: { judge_model: 'pipeline-judge' } }, steps: { a: { prompt: 'a', verify: { gates } } } }), [judge, feedback]);
    pipelineModel.apply({ type: 'start' });
    pipelineModel.apply(generated('a', 1, 'v1'));
    expect(pipelineModel.verifyJob('a').judgeModel).toBe('pipeline-judge');
    const legacy = new Run(compile({ steps: { a: { prompt: 'a', verify: { gates: ['json'] } } } }));
    legacy.apply({ type: 'start' });
    legacy.apply(generated('a', 1, 'v1'));
    expect(legacy.verifyJob('a')).toMatchObject({ feedbackTemplate: { name: 'trellis.feedback', version: 1 } });
    expect(legacy.verifyJob('a').judgeTemplate).toBeUndefined();
    expect(legacy.verifyJob('a').judgeModel).toBeUndefined();
  });

  it('throws on a template the run did not pin (never a silent stand-in for a user template)', () => {
    const run = new Run(compile({ steps: { a: { prompt: 'a', personality: 'template:pirate' } } }));
    expect(() => run.apply({ type: 'start' })).toThrow('has no pin for template pirate');
  });

  it('sends experiment outcomes for a run in a strategy experiment', () => {
    const run = new Run(compile({ steps: { a: { prompt: 'a' } } }));
    run.snapshot = { ...run.snapshot, run: { ...run.snapshot.run, strategies: [{ experiment: { id: 'exp-s', variant: 'cheap' }, variant: { kind: 'selection', selection: 'cost' } }] } };
    run.apply({ type: 'start' });
    run.apply(generated('a', 1, 'A'));
    expect(run.last.messages.find((m) => m.queue === 'experiments')?.data).toMatchObject({ runId: RUN_ID, run: { status: 'succeeded' } });
  });
});

describe('decideRunChange: reuse of earlier rounds (iterate.reuse)', () => {
  const schema = { type: 'object', required: ['title', 'examples'], properties: { title: { type: 'string' }, examples: { type: 'array', items: { type: 'string' } } } };
  const pipeline = compile({ steps: { a: { prompt: 'a', output: { format: 'json', schema }, verify: { gates: ['schema'], iterate: { max: 3, reuse: ['examples'] } } } } });
  const round1 = { title: 'Draft', examples: ['one', 'two'] };

  it('asks round 2 for the other fields only and keeps round 1 examples in the merged output, with telemetry', () => {
    const run = new Run(pipeline);
    run.apply({ type: 'start' });
    expect(run.job('a').output?.schema).toEqual(schema);
    run.apply(generated('a', 1, JSON.stringify(round1), { structured: round1, usage: { inputTokens: 10, outputTokens: 40 } }));
    expect(run.verifyJob('a').reuse).toEqual(['examples']);
    run.apply(verified('a', 1, 'retry', 0.5, { feedback: 'Fix the title.', reusedFields: ['examples'], best: { iteration: 1, attempt: 1, score: 0.5 } }));

    const round2 = run.job('a');
    expect(round2.output?.schema).toEqual({ type: 'object', required: ['title'], properties: { title: { type: 'string' } } });
    expect(round2.previousOutput).toBe(JSON.stringify(round1));
    run.apply(generated('a', 2, '{"title":"Better"}', { structured: { title: 'Better' }, usage: { inputTokens: 20, outputTokens: 8 } }));
    const merged = { title: 'Better', examples: ['one', 'two'] };
    expect(run.step('a')).toMatchObject({ output: JSON.stringify(merged), structured: merged });
    expect(run.verifyJob('a').output).toBe(JSON.stringify(merged));
    const r2 = run.step('a').iterations[1]!;
    expect(r2).toMatchObject({ reusedFields: ['examples'], reusedFrom: 1, output: JSON.stringify(merged) });
    expect(r2.outputTokensSaved).toBe(Math.round((40 * JSON.stringify({ examples: ['one', 'two'] }).length) / JSON.stringify(round1).length));

    run.apply(verified('a', 2, 'accept', 0.9, { stop: 'accepted' }));
    expect(run.step('a')).toMatchObject({ status: 'succeeded', structured: merged });
  });

  it('writes everything again when the verdict keeps nothing', () => {
    const run = new Run(pipeline);
    run.apply({ type: 'start' });
    run.apply(generated('a', 1, JSON.stringify(round1), { structured: round1 }));
    run.apply(verified('a', 1, 'retry', 0.5, { feedback: 'The examples are wrong.', best: { iteration: 1, attempt: 1, score: 0.5 } }));
    expect(run.job('a').output?.schema).toEqual(schema);
    run.apply(generated('a', 2, '{"title":"T","examples":["new"]}', { structured: { title: 'T', examples: ['new'] } }));
    expect(run.step('a').structured).toEqual({ title: 'T', examples: ['new'] });
    expect(run.step('a').iterations[1]?.reusedFields).toBeUndefined();
  });
});
