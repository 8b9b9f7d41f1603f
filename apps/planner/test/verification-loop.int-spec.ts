import { RunCompleted, StepCompleted } from '@trellis/contracts';
import { PlannerHarness, resultIds } from './planner-harness';

/**
 * Steps with gates, the test playing the executors and the verifier: the planner queues each
 * candidate for verification and follows the verdicts (ADR 0003): the next round with the
 * feedback, the best candidate kept, the escalation round on the stronger model.
 */
describe('planner: the verification loop', () => {
  let h: PlannerHarness;

  beforeAll(async () => {
    // The simulator's catalog: gpt-4.1-mini is tier 3, so escalation goes to gpt-4.1 (tier 5).
    h = await PlannerHarness.start();
  }, 60_000);
  afterAll(() => h?.stop(), 30_000);

  const gates = [{ contains: 'price' }, { length: { min: 10 } }];
  const pipeline = (verify: Record<string, unknown>) => ({
    version: 1,
    name: 'loop',
    steps: {
      draft: { prompt: 'Pitch the kettle', model: 'gpt-4.1-mini', verify: { gates, ...verify } },
      publish: { prompt: 'Publish {{ steps.draft.output }}', depends_on: ['draft'] },
    },
  });
  const policy = { maxIterations: 3, improvementThreshold: 0.05, acceptAt: 0.8, categoryMin: 0.75, escalate: false };

  it('queues a generated candidate for the verifier with the gates and the policy, and holds its dependents', async () => {
    const run = await h.startInline(pipeline({ iterate: { max: 3 } }));
    const round1 = await h.job(run.id, 'draft');
    expect(round1).toMatchObject({ attempt: 1, iteration: 1, model: 'gpt-4.1-mini' });
    expect(round1.feedback).toBeUndefined();
    expect(round1.previousOutput).toBeUndefined();
    await h.generated(round1, { output: 'A kettle.' });

    const job = await h.verifyJob(run.id, 'draft');
    expect(job).toMatchObject({
      project: h.project,
      attempt: 1,
      iteration: 1,
      output: 'A kettle.',
      messages: [{ role: 'user', content: 'Pitch the kettle' }, { role: 'assistant', content: 'A kettle.' }],
      gates,
      policy,
      history: [],
      model: 'gpt-4.1-mini',
      escalated: false,
    });
    // No judge model named (pipeline, judge template): the verifier's own default applies, then the step's model.
    expect(job.judgeModel).toBeUndefined();
    expect(job.escalateTo).toBeUndefined();
    expect((await h.stepRows(run.id)).draft).toMatchObject({ status: 'verifying', attempt: 1 });
    expect(h.jobsOf(run.id, 'publish')).toEqual([]);
    expect(h.eventsOf(StepCompleted, run.id)).toEqual([]);
  });

  it('answers retry with the next round (iteration 2, the feedback, the candidate to revise), then accepts it', async () => {
    const run = await h.startInline(pipeline({}));
    await h.generated(await h.job(run.id, 'draft'), { output: 'A kettle.' });
    await h.verified(await h.verifyJob(run.id, 'draft', 1), {
      verdict: 'retry',
      score: 0.5,
      iteration: 1,
      feedback: 'Name the price.',
      best: { iteration: 1, attempt: 1, score: 0.5 },
      reviseBest: false,
    });

    const round2 = await h.job(run.id, 'draft', 2);
    expect(round2).toMatchObject({ attempt: 2, iteration: 2, model: 'gpt-4.1-mini', feedback: 'Name the price.', previousOutput: 'A kettle.', prompt: 'Pitch the kettle' });
    await h.generated(round2, { output: 'A kettle at a fair price.' });
    const verify2 = await h.verifyJob(run.id, 'draft', 2);
    expect(verify2).toMatchObject({ iteration: 2, output: 'A kettle at a fair price.', history: [{ iteration: 1, attempt: 1, score: 0.5 }] });
    await h.verified(verify2, { verdict: 'accept', score: 0.9, iteration: 2, stop: 'accepted', best: { iteration: 2, attempt: 2, score: 0.9 } });

    const publish = await h.job(run.id, 'publish');
    expect(publish.context.steps).toEqual({ draft: { output: 'A kettle at a fair price.' } });
    expect(await h.event(StepCompleted, run.id, (e) => e.stepId === 'draft')).toMatchObject({ status: 'succeeded', attempt: 2, output: 'A kettle at a fair price.' });
    expect((await h.stepRows(run.id)).draft).toMatchObject({ status: 'succeeded', attempt: 2, output: 'A kettle at a fair price.', score: 0.9, iterations: 2 });
    await h.generated(publish);
    expect(await h.event(RunCompleted, run.id)).toMatchObject({ status: 'succeeded', usage: { inputTokens: 30, outputTokens: 15 } });
  });

  it('revises the best earlier candidate after a round that did not improve, and keeps the best one as the output when the loop ends unaccepted', async () => {
    const run = await h.startInline(pipeline({}));
    await h.generated(await h.job(run.id, 'draft'), { output: 'Candidate one, price 20.' });
    await h.verified(await h.verifyJob(run.id, 'draft', 1), { verdict: 'retry', score: 0.6, iteration: 1, feedback: 'Shorter.', best: { iteration: 1, attempt: 1, score: 0.6 }, reviseBest: false });
    await h.generated(await h.job(run.id, 'draft', 2), { output: 'Candidate two.' });
    // Round 2 is worse: the verifier names round 1 the best, and the next round revises it.
    await h.verified(await h.verifyJob(run.id, 'draft', 2), {
      verdict: 'retry',
      score: 0.4,
      iteration: 2,
      feedback: 'Keep the price.',
      best: { iteration: 1, attempt: 1, score: 0.6 },
      reviseBest: true,
    });
    const round3 = await h.job(run.id, 'draft', 3);
    expect(round3).toMatchObject({ iteration: 3, feedback: 'Keep the price.', previousOutput: 'Candidate one, price 20.' });

    await h.generated(round3, { output: 'Candidate three.' });
    expect(await h.verifyJob(run.id, 'draft', 3)).toMatchObject({
      iteration: 3,
      history: [
        { iteration: 1, attempt: 1, score: 0.6 },
        { iteration: 2, attempt: 2, score: 0.4 },
      ],
    });
    await h.verified(await h.verifyJob(run.id, 'draft', 3), {
      verdict: 'reject',
      score: 0.5,
      iteration: 3,
      stop: 'max_iterations',
      reason: 'not accepted after 3 rounds',
      best: { iteration: 1, attempt: 1, score: 0.6 },
    });

    expect(await h.event(RunCompleted, run.id)).toMatchObject({ status: 'failed', error: { code: 'verification_rejected' } });
    expect(await h.event(StepCompleted, run.id, (e) => e.stepId === 'draft')).toMatchObject({ status: 'failed', attempt: 3, error: { code: 'verification_rejected' } });
    expect((await h.stepRows(run.id)).draft).toMatchObject({ status: 'failed', attempt: 3, output: 'Candidate one, price 20.', score: 0.6, iterations: 3, error: { code: 'verification_rejected' } });
    expect((await h.stepRows(run.id)).publish).toMatchObject({ status: 'skipped' });
  });

  it('keeps the best candidate when the loop stagnates, and its on_failure route runs', async () => {
    const run = await h.startInline({
      version: 1,
      name: 'stagnating',
      steps: {
        draft: { prompt: 'Pitch', verify: { gates }, on_failure: 'apologize' },
        apologize: { prompt: 'Sorry' },
      },
    });
    await h.generated(await h.job(run.id, 'draft'), { output: 'First, price 20.' });
    await h.verified(await h.verifyJob(run.id, 'draft', 1), { verdict: 'retry', score: 0.6, iteration: 1, feedback: 'More.', best: { iteration: 1, attempt: 1, score: 0.6 } });
    await h.generated(await h.job(run.id, 'draft', 2), { output: 'Second.' });
    await h.verified(await h.verifyJob(run.id, 'draft', 2), { verdict: 'reject', score: 0.58, iteration: 2, stop: 'stagnated', reason: 'improved by less than 0.05', best: { iteration: 1, attempt: 1, score: 0.6 }, reviseBest: true });

    await h.generated(await h.job(run.id, 'apologize'));
    expect(await h.event(RunCompleted, run.id)).toMatchObject({ status: 'succeeded' });
    expect((await h.stepRows(run.id)).draft).toMatchObject({ status: 'failed', output: 'First, price 20.', score: 0.6, error: { code: 'verification_rejected', message: expect.stringContaining('improved by less than 0.05') } });
  });

  it('runs the escalation round on the stronger model with the feedback, once', async () => {
    const run = await h.startInline(pipeline({ iterate: { max: 1 }, escalate: true }));
    await h.generated(await h.job(run.id, 'draft'), { output: 'Weak pitch.' });
    const verify1 = await h.verifyJob(run.id, 'draft', 1);
    expect(verify1).toMatchObject({ escalated: false, escalateTo: 'gpt-4.1', policy: { maxIterations: 1, escalate: true } });
    await h.verified(verify1, {
      verdict: 'escalate',
      score: 0.5,
      iteration: 1,
      stop: 'max_iterations',
      escalateTo: 'gpt-4.1',
      feedback: 'Round 1 scored 0.50; name the price.',
      best: { iteration: 1, attempt: 1, score: 0.5 },
    });

    const escalated = await h.job(run.id, 'draft', 2);
    expect(escalated).toMatchObject({ model: 'gpt-4.1', iteration: 2, feedback: 'Round 1 scored 0.50; name the price.', previousOutput: 'Weak pitch.' });
    await h.generated(escalated, { output: 'A strong pitch with a price.' });
    const verify2 = await h.verifyJob(run.id, 'draft', 2);
    expect(verify2).toMatchObject({ escalated: true, model: 'gpt-4.1', iteration: 2, history: [{ iteration: 1, attempt: 1, score: 0.5, model: 'gpt-4.1-mini', escalated: false }] });
    expect(verify2.escalateTo).toBeUndefined();
    await h.verified(verify2, { verdict: 'accept', score: 0.95, iteration: 2, stop: 'accepted', best: { iteration: 2, attempt: 2, score: 0.95 } });

    expect(await h.event(StepCompleted, run.id, (e) => e.stepId === 'draft')).toMatchObject({ status: 'succeeded', attempt: 2, output: 'A strong pitch with a price.' });
    expect((await h.stepRows(run.id)).draft).toMatchObject({ status: 'succeeded', score: 0.95, iterations: 2 });
  });

  it("fails a step whose verdicts ask for more rounds than its policy allows", async () => {
    const run = await h.startInline(pipeline({ iterate: { max: 1 } }));
    await h.generated(await h.job(run.id, 'draft'));
    await h.verified(await h.verifyJob(run.id, 'draft', 1), { verdict: 'retry', score: 0.5, iteration: 1, feedback: 'Again.' });
    expect(await h.event(RunCompleted, run.id)).toMatchObject({ status: 'failed', error: { code: 'attempts_exhausted' } });
    expect(h.jobsOf(run.id, 'draft')).toHaveLength(1);
  });

  it('fails the step when the verifier reports it could not verify it', async () => {
    const run = await h.startInline(pipeline({}));
    await h.generated(await h.job(run.id, 'draft'));
    const job = await h.verifyJob(run.id, 'draft', 1);
    await h.failed(job, { code: 'verification_failed', message: 'step "draft" could not be verified: the judge kept failing' }, { id: resultIds.verificationFailed(job) });
    expect(await h.event(RunCompleted, run.id)).toMatchObject({ status: 'failed', error: { code: 'verification_failed' } });
    expect((await h.stepRows(run.id)).draft).toMatchObject({ status: 'failed', error: { code: 'verification_failed' } });
  });
});
