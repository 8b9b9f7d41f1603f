import type { RunView, StepView } from '@trellis/contracts';
import type { SimulatorOptions } from '@trellis/llm';
import { startTestPlatform, type TestPlatform } from '@trellis/testing';

type SimulatedCall = Parameters<NonNullable<SimulatorOptions['respond']>>[0];

/** The step under test: each scenario's pipeline has one. */
const loopStep = (run: RunView): StepView => run.steps[0]!;

/**
 * The judge's scores per scenario and round. The scenario is in the step's prompt, which the
 * judge sees as the task; the round is one more than the latest "(round n) scored" feedback
 * the task carries (the executor appends the previous round's feedback to the conversation).
 */
const SCRIPT: Record<string, Array<{ score: number; feedback: string }>> = {
  'accept-1': [{ score: 0.9, feedback: 'Good.' }],
  'accept-2': [
    { score: 0.6, feedback: 'Name the price in euros.' },
    { score: 0.92, feedback: 'Good.' },
  ],
  stagnate: [
    { score: 0.6, feedback: 'Say who it is for.' },
    { score: 0.55, feedback: 'Still vague.' },
  ],
};

function judge(call: SimulatedCall): string | undefined {
  const format = call.responseFormat as { json_schema?: { name?: string } } | null;
  if (format?.json_schema?.name !== 'judge_verdict') return undefined;
  const text = call.messages.map((m) => m.content).join('\n');
  const scenario = /Scenario ([a-z0-9-]+):/.exec(text)?.[1] ?? '';
  const rounds = [...text.matchAll(/\(round (\d+)\) scored/g)].map((m) => Number(m[1]));
  const round = rounds.length ? Math.max(...rounds) + 1 : 1;
  const entry = SCRIPT[scenario]?.[round - 1] ?? { score: 0, feedback: `no script for ${scenario} round ${round}` };
  const violations = entry.score < 0.8 ? [{ rule: 'precision', severity: 'major', message: `too vague (round ${round})` }] : [];
  return JSON.stringify({ score: entry.score, categories: { accuracy: entry.score }, violations, feedback: entry.feedback });
}

/**
 * The verification loop through the whole platform: the gateway starts runs, the planner
 * queues rounds, executors generate with the previous round's feedback, the verifier judges
 * with the simulator, and the run reports every iteration. Needs the planner and executor
 * wiring of docs/verification.md ("What the planner and executor do").
 */
describe('verification loop, end to end', () => {
  let ctx: TestPlatform;

  beforeAll(async () => {
    ctx = await startTestPlatform({ simulator: { respond: judge } });
  }, 60_000);
  afterAll(() => ctx?.stop(), 60_000);

  const spec = {
    version: 1,
    name: 'pitch',
    inputs: { scenario: { type: 'string', required: true } },
    steps: {
      pitch: {
        prompt: 'Scenario {{ inputs.scenario }}: write a one-line pitch for a solar kettle.',
        verify: { gates: [{ judge: { rubric: 'A precise, concrete pitch.', categories: ['accuracy'] } }], iterate: { max: 3 } },
      },
    },
  };
  const run = async (scenario: string): Promise<RunView> => {
    const started = await ctx.api.post('/v1/runs', { spec, inputs: { scenario } });
    expect(started.status).toBe(202);
    return ctx.api.waitForRun(started.body.id, 60_000);
  };

  it('accepts in round 1, accepts in round 2 with the feedback in the prompt, and stops a stagnating loop keeping the best', async () => {
    const [first, second, stagnated] = await Promise.all([run('accept-1'), run('accept-2'), run('stagnate')]);

    // Accepted in round 1.
    expect(first.status).toBe('succeeded');
    const one = loopStep(first);
    expect(one).toMatchObject({ status: 'succeeded', score: 0.9, iterationsUsed: 1, bestScore: 0.9, stopReason: 'accepted' });
    expect(one.iterations).toEqual([
      expect.objectContaining({ iteration: 1, attempt: 1, score: 0.9, categories: { accuracy: 0.9 }, verdict: 'accept', stop: 'accepted', feedbackUsed: false, escalated: false }),
    ]);
    expect(one.iterations[0]!.usage.outputTokens).toBeGreaterThan(0);
    expect(one.iterations[0]!.judgeUsage?.inputTokens).toBeGreaterThan(0);
    expect(one.iterations[0]!.durationMs).toEqual(expect.any(Number));

    // Accepted in round 2; round 2's prompt carries round 1's feedback and revises round 1's answer.
    expect(second.status).toBe('succeeded');
    const two = loopStep(second);
    expect(two).toMatchObject({ status: 'succeeded', attempt: 2, score: 0.92, iterationsUsed: 2, bestScore: 0.92, stopReason: 'accepted' });
    expect(two.iterations.map((i) => [i.iteration, i.score, i.verdict, i.feedbackUsed])).toEqual([
      [1, 0.6, 'retry', false],
      [2, 0.92, 'accept', true],
    ]);
    expect(two.iterations[0]!.violations).toEqual([{ rule: 'judge.precision', severity: 'major', message: 'too vague (round 1)' }]);
    const prompt = two.messages!;
    expect(prompt[0]).toMatchObject({ role: 'system' });
    expect(prompt.at(-2)).toMatchObject({ role: 'assistant', content: expect.stringContaining('Scenario accept-2') });
    expect(prompt.at(-1)).toMatchObject({ role: 'user', content: expect.stringContaining('Name the price in euros.') });
    expect(prompt.at(-1)!.content).toContain('- [major] judge.precision: too vague (round 1)');
    const generations = ctx.simulator.requests().filter((r) => r.responseFormat === null && r.messages.some((m) => m.content.includes('Scenario accept-2')));
    expect(generations).toHaveLength(2);
    expect(generations[1]!.messages.at(-1)!.content).toContain('Name the price in euros.');

    // Stagnation: round 2 improved by less than 0.05 (it got worse), so the loop stops after 2 of 3 rounds and keeps round 1.
    expect(stagnated.status).toBe('failed');
    const stuck = loopStep(stagnated);
    expect(stuck).toMatchObject({ status: 'failed', iterationsUsed: 2, bestScore: 0.6, stopReason: 'stagnated', score: 0.6 });
    expect(stuck.iterations.map((i) => [i.iteration, i.score, i.verdict])).toEqual([
      [1, 0.6, 'retry'],
      [2, 0.55, 'reject'],
    ]);
    expect(stuck.error).toMatchObject({ code: 'verification_rejected', message: expect.stringContaining('less than 0.05') });
    expect(stuck.output).toContain('Scenario stagnate');
    expect(stuck.output).not.toContain('Your previous answer');
  }, 90_000);
});
