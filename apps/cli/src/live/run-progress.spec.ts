import type { RunView } from '@trellis/contracts';
import { RunProgress } from './run-progress';

const step = (id: string, status = 'pending') => ({
  id,
  status,
  attempt: 0,
  dependsOn: [],
  model: 'm',
  output: null,
  error: null,
  usage: { inputTokens: 0, outputTokens: 0 },
  messages: null,
  score: null,
  executor: null,
  dispatchedAt: null,
  startedAt: null,
  finishedAt: null,
});
const run = (steps: ReturnType<typeof step>[], status = 'running') =>
  ({ id: 'r', project: 'p', pipeline: 'x', pipelineVersion: 1, status, inputs: {}, usage: { inputTokens: 0, outputTokens: 0 }, error: null, createdAt: '', finishedAt: null, steps, products: [] }) as unknown as RunView;
const event = (type: string, data: Record<string, unknown>) => ({ specversion: '1.0' as const, id: 'e', source: 's', type: `dev.trellis.${type}`, time: '', datacontenttype: 'application/json' as const, data });

describe('RunProgress', () => {
  it('follows a step through its events and the run to its end', () => {
    const sut = new RunProgress(run([step('a')]));
    expect(sut.apply(event('step.dispatched', { runId: 'r', stepId: 'a', attempt: 2, model: 'gpt' }))).toBe('a');
    expect(sut.apply(event('step.progress', { runId: 'r', stepId: 'a', attempt: 2, outputTokens: 7, delta: 'x' }))).toBeUndefined();
    expect(sut.steps.get('a')).toMatchObject({ status: 'running', model: 'gpt', attempt: 2, outputTokens: 7 });
    sut.apply(event('step.generated', { runId: 'r', stepId: 'a', attempt: 2, model: 'gpt', usage: { inputTokens: 3, outputTokens: 9 } }));
    sut.apply(event('step.completed', { runId: 'r', stepId: 'a', attempt: 2, status: 'succeeded' }));
    expect(sut.apply(event('run.completed', { runId: 'r', status: 'succeeded' }))).toBe('run');
    expect(sut.status).toBe('succeeded');
    expect(sut.totals).toEqual({ inputTokens: 3, outputTokens: 9 });
  });

  it('keeps a step done when an earlier event of its attempt arrives after its completion', () => {
    const sut = new RunProgress(run([step('a')]));
    sut.apply(event('step.completed', { runId: 'r', stepId: 'a', attempt: 1, status: 'succeeded' }));
    expect(sut.apply(event('step.dispatched', { runId: 'r', stepId: 'a', attempt: 1, model: 'gpt' }))).toBeUndefined();
    expect(sut.steps.get('a')).toMatchObject({ status: 'succeeded', attempt: 1 });
    // A later attempt (a resume) still moves it.
    expect(sut.apply(event('step.dispatched', { runId: 'r', stepId: 'a', attempt: 2, model: 'gpt' }))).toBe('a');
    expect(sut.steps.get('a')).toMatchObject({ status: 'running', attempt: 2 });
  });

  it('takes the final run over events it never saw', () => {
    const sut = new RunProgress(run([step('a'), step('b')]));
    expect(sut.reconcile(run([step('a', 'succeeded'), step('b')], 'succeeded'))).toEqual(['a']);
    expect(sut.status).toBe('succeeded');
  });
});
