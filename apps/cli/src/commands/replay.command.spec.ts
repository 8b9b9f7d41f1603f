import type { RunDiff, StepDiff } from '@trellis/contracts';
import { formatDiff, regressionsOf } from './replay.command';

function step(id: string, extra: Partial<StepDiff> = {}): StepDiff {
  const same = <T>(v: T) => ({ a: v, b: v });
  return {
    id,
    change: 'identical',
    changed: [],
    status: same('succeeded' as const),
    model: same('m'),
    template: same(null),
    score: same(null),
    iterations: same(0),
    usage: same({ inputTokens: 1, outputTokens: 1 }),
    cost: same(0),
    durationMs: same(10),
    reused: same(false),
    recorded: same(false),
    prompt: { equal: true, patch: '' },
    output: { equal: true, patch: '' },
    error: same(null),
    ...extra,
  };
}

function diff(steps: StepDiff[]): RunDiff {
  const changed = steps.filter((s) => s.change === 'changed').map((s) => s.id);
  return {
    a: 'A',
    b: 'B',
    summary: { identical: changed.length === 0, changed, added: [], removed: [] },
    status: { a: 'succeeded', b: 'succeeded' },
    usage: { a: { inputTokens: 2, outputTokens: 2 }, b: { inputTokens: 2, outputTokens: 2 } },
    cost: { a: 0.0002, b: 0.0001, delta: -0.0001 },
    durationMs: { a: 2000, b: 500, delta: -1500 },
    steps,
  };
}

describe('formatDiff', () => {
  it('prints one line per step, then what changed as unified diffs, then cost and time', () => {
    const text = formatDiff(
      diff([
        step('a', { reused: { a: false, b: true } }),
        step('b', { change: 'changed', changed: ['prompt', 'output'], prompt: { equal: false, patch: '--- a/b/prompt\n+++ b/b/prompt\n@@ -1 +1 @@\n-x\n+y\n' }, output: { equal: false, patch: '--- a/b/output\n+++ b/b/output\n@@ -1 +1 @@\n-1\n+2\n' } }),
      ]),
    );
    expect(text).toBe(
      [
        'A → B: changed b',
        '  a: identical · succeeded (carried over)',
        '  b: changed (prompt, output) · succeeded',
        '--- a/b/prompt',
        '+++ b/b/prompt',
        '@@ -1 +1 @@',
        '-x',
        '+y',
        '--- a/b/output',
        '+++ b/b/output',
        '@@ -1 +1 @@',
        '-1',
        '+2',
        'cost: $0.000200 → $0.000100 (-$0.000100) · time: 2.00 s → 0.50 s (-1500 ms)',
        '',
      ].join('\n'),
    );
  });

  it('explains a step that gave no answer by its error instead of diffing nothing', () => {
    const text = formatDiff(
      diff([step('c', { change: 'changed', changed: ['status', 'prompt', 'output'], status: { a: 'succeeded', b: 'failed' }, error: { a: null, b: { code: 'replay_miss', message: 'the request differs' } }, prompt: { equal: false, patch: '--- a\n+++ b\n-[user]\n' } })]),
    );
    expect(text).toContain('c failed: replay_miss: the request differs\n');
    expect(text).not.toContain('-[user]');
  });
});

describe('regressionsOf', () => {
  it('counts a changed status, prompt or output and a step added or removed, not a changed score alone', () => {
    const d = diff([
      step('a', { change: 'changed', changed: ['score'] }),
      step('b', { change: 'changed', changed: ['output'] }),
      step('c', { change: 'added', status: { a: null, b: 'succeeded' } }),
    ]);
    expect(regressionsOf(d)).toEqual(['b', 'c']);
  });
});
