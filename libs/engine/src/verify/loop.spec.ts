import type { VerifyPolicy, VerifyRound, Violation } from '@trellis/contracts';
import type { GateResult } from './gates';
import { decideRound, type RoundInput } from './loop';
import { resolveVerifyPolicy } from './policy';

const policy: VerifyPolicy = resolveVerifyPolicy({});
const withEscalation: VerifyPolicy = { ...policy, escalate: true };

const result = (score: number, categories: Record<string, number> = {}, violations: Violation[] = []): GateResult => ({ score, categories, violations });
const round = (iteration: number, r: GateResult, extra: Partial<RoundInput> = {}): RoundInput => ({ iteration, attempt: iteration, result: r, ...extra });
const past = (iteration: number, score: number, extra: Partial<VerifyRound> = {}): VerifyRound => ({ iteration, attempt: iteration, score, ...extra });
const critical: Violation = { rule: 'not_contains', severity: 'critical', message: 'output contains "As an AI"' };

describe('decideRound: the iteration loop stop rules', () => {
  it('accepts in round 1 when score, categories and violations all pass', () => {
    const d = decideRound(policy, [], round(1, result(0.9, { accuracy: 0.9, clarity: 0.8 })));
    expect(d).toMatchObject({ verdict: 'accept', stop: 'accepted', blockers: [], best: { iteration: 1, attempt: 1, score: 0.9 }, reviseBest: false });
    expect(d.feedback).toBeUndefined();
  });

  it('retries round 1 with feedback, then accepts in round 2', () => {
    const r1 = decideRound(policy, [], round(1, result(0.6, { accuracy: 0.6 }, [{ rule: 'judge', severity: 'major', message: 'the price is wrong' }]), { judgeFeedback: ['Check the price against the source.'] }));
    expect(r1).toMatchObject({ verdict: 'retry', best: { iteration: 1 } });
    expect(r1.stop).toBeUndefined();
    expect(r1.feedback).toContain('round 1) scored 0.60; an answer needs at least 0.80');
    expect(r1.feedback).toContain('- [major] judge: the price is wrong');
    expect(r1.feedback).toContain('accuracy 0.60');
    expect(r1.feedback).toContain('Check the price against the source.');

    const r2 = decideRound(policy, [past(1, 0.6)], round(2, result(0.85, { accuracy: 0.85 })));
    expect(r2).toMatchObject({ verdict: 'accept', stop: 'accepted', best: { iteration: 2, score: 0.85 } });
  });

  it('stops early when a round improves by less than the threshold, and keeps the best', () => {
    const d = decideRound(policy, [past(1, 0.62)], round(2, result(0.6)));
    expect(d).toMatchObject({ verdict: 'reject', stop: 'stagnated', best: { iteration: 1, attempt: 1, score: 0.62 }, reviseBest: true });
    expect(d.reason).toMatch(/^round 2 improved the score by -0\.02 over round 1, less than 0\.05/);

    const slight = decideRound(policy, [past(1, 0.6)], round(2, result(0.64)));
    expect(slight).toMatchObject({ verdict: 'reject', stop: 'stagnated', best: { iteration: 2, score: 0.64 }, reviseBest: false });
  });

  it('goes on when the improvement reaches the threshold exactly', () => {
    expect(decideRound(policy, [past(1, 0.6)], round(2, result(0.65))).verdict).toBe('retry');
    expect(decideRound({ ...policy, improvementThreshold: 0.05 }, [past(1, 0.8)], round(2, result(0.85, {}, [critical]))).verdict).toBe('retry');
  });

  it('ends the loop at the hard limit of 3 rounds even while it improves', () => {
    const d = decideRound(policy, [past(1, 0.3), past(2, 0.5)], round(3, result(0.7)));
    expect(d).toMatchObject({ verdict: 'reject', stop: 'max_iterations', best: { iteration: 3, score: 0.7 } });
    expect(d.reason).toMatch(/^3 of 3 rounds used without acceptance/);
    expect(decideRound({ ...policy, maxIterations: 1 }, [], round(1, result(0.1))).stop).toBe('max_iterations');
  });

  it('blocks acceptance on a critical violation whatever the score', () => {
    const d = decideRound(policy, [], round(1, result(0.99, {}, [critical])));
    expect(d.verdict).toBe('retry');
    expect(d.blockers).toEqual(['critical violation: not_contains: output contains "As an AI"']);
    expect(d.feedback).toContain('- [critical] not_contains: output contains "As an AI"');
  });

  it('blocks acceptance when a category is under its minimum', () => {
    const d = decideRound(policy, [], round(1, result(0.9, { accuracy: 0.95, clarity: 0.7 })));
    expect(d.verdict).toBe('retry');
    expect(d.blockers).toEqual(['clarity 0.70 below the category minimum 0.75']);
    expect(decideRound({ ...policy, categoryMin: 0.7 }, [], round(1, result(0.9, { clarity: 0.7 }))).verdict).toBe('accept');
  });

  it('escalates once when the loop ends unaccepted, then rejects if the escalation round fails', () => {
    const stagnated = decideRound(withEscalation, [past(1, 0.6)], round(2, result(0.61)), 'gpt-4.1');
    expect(stagnated).toMatchObject({ verdict: 'escalate', stop: 'stagnated', escalateTo: 'gpt-4.1', best: { iteration: 2 } });
    expect(stagnated.feedback).toContain('round 2) scored 0.61');

    const exhausted = decideRound(withEscalation, [past(1, 0.4), past(2, 0.5)], round(3, result(0.6)), 'gpt-4.1');
    expect(exhausted).toMatchObject({ verdict: 'escalate', stop: 'max_iterations' });

    const escalatedRound = round(3, result(0.7), { escalated: true });
    const failed = decideRound(withEscalation, [past(1, 0.6), past(2, 0.61)], escalatedRound, 'gpt-5');
    expect(failed).toMatchObject({ verdict: 'reject', stop: 'escalation_failed', best: { iteration: 3, score: 0.7 } });
    expect(failed.escalateTo).toBeUndefined();

    // A later round after an escalated one (a stale job) never escalates again.
    expect(decideRound(withEscalation, [past(1, 0.6), past(2, 0.61, { escalated: true })], round(3, result(0.3)), 'gpt-5').verdict).toBe('reject');
  });

  it('accepts the escalation round when it passes', () => {
    expect(decideRound(withEscalation, [past(1, 0.6), past(2, 0.61)], round(3, result(0.9), { escalated: true })).verdict).toBe('accept');
  });

  it('rejects instead of escalating when escalation is off or no stronger model exists', () => {
    expect(decideRound(policy, [past(1, 0.6)], round(2, result(0.6)), 'gpt-4.1').verdict).toBe('reject');
    const none = decideRound(withEscalation, [past(1, 0.6)], round(2, result(0.6)));
    expect(none.verdict).toBe('reject');
    expect(none.reason).toContain('no stronger model to escalate to');
  });

  it('ranks a candidate without critical violations above a higher-scoring one with', () => {
    const d = decideRound(policy, [past(1, 0.9, { critical: true }), past(2, 0.5)], round(3, result(0.95, {}, [critical])));
    expect(d.best).toEqual({ iteration: 2, attempt: 2, score: 0.5 });
    expect(d.reviseBest).toBe(true);
  });

  it('ignores history rounds that are not earlier than this one', () => {
    expect(decideRound(policy, [past(1, 0.6), past(2, 0.9)], round(2, result(0.7))).verdict).toBe('retry');
  });
});

describe('resolveVerifyPolicy', () => {
  it('takes each field from the step, then the pipeline defaults, then the built-ins', () => {
    expect(resolveVerifyPolicy({})).toEqual({ maxIterations: 3, improvementThreshold: 0.05, acceptAt: 0.8, categoryMin: 0.75, escalate: false });
    expect(resolveVerifyPolicy({ iterate: { max: 2 } }, { iterate: { max: 5, accept_at: 0.9 }, escalate: true })).toEqual({
      maxIterations: 2,
      improvementThreshold: 0.05,
      acceptAt: 0.9,
      categoryMin: 0.75,
      escalate: true,
    });
    expect(resolveVerifyPolicy({ escalate: false }, { escalate: true }).escalate).toBe(false);
  });
});

describe('decideRound: the next round prompt', () => {
  const reuse = { kept: ['examples'], write: ['title'] };

  it('tells a retry what it keeps, in the verdict and in the feedback', () => {
    const d = decideRound(policy, [], round(1, result(0.5)), undefined, { reuse });
    expect(d).toMatchObject({ verdict: 'retry', reusedFields: ['examples'] });
    expect(d.feedback).toContain('Keep examples as they are: answer with title only.');
  });

  it('keeps fields for the escalation round too, but not when the loop ends', () => {
    expect(decideRound(withEscalation, [past(1, 0.6)], round(2, result(0.61)), 'gpt-4.1', { reuse })).toMatchObject({ verdict: 'escalate', reusedFields: ['examples'] });
    const rejected = decideRound(policy, [past(1, 0.6)], round(2, result(0.61)), undefined, { reuse });
    expect(rejected.verdict).toBe('reject');
    expect(rejected.reusedFields).toBeUndefined();
  });

  it("renders the run's feedback template", () => {
    expect(decideRound(policy, [], round(1, result(0.5)), undefined, { feedbackTemplate: 'Scored {{ inputs.score }}, need {{ inputs.accept_at }}.' }).feedback).toBe('Scored 0.50, need 0.80.');
  });
});
