import { jetstreamManager } from '@nats-io/jetstream';
import { RunCompleted, StepCompleted, StepGenerated, subjects } from '@trellis/contracts';
import { waitFor } from '@trellis/testing';
import { PlannerHarness, resultIds } from './planner-harness';

/**
 * How the planner takes step results, handed over directly or queued (ADR 0017): the same
 * result again (a redelivery, or a republish after the dedupe window), results of attempts
 * that are no longer current, results for nothing it knows, and many results at once, one of
 * which it cannot apply.
 */
describe('planner: delivery of step results', () => {
  let h: PlannerHarness;

  beforeAll(async () => {
    h = await PlannerHarness.start();
  }, 60_000);
  afterAll(() => h?.stop(), 30_000);

  /**
   * Queues results while the planner is paused (a paused planner answers no hand-off): it
   * takes everything in one pull when it wakes, and applies it in one batch.
   */
  const whilePaused = async (publish: () => Promise<unknown>) => {
    h.planner.signal('SIGSTOP');
    h.delivery = 'queue';
    try {
      await publish();
    } finally {
      h.delivery = 'handoff';
      h.planner.signal('SIGCONT');
    }
  };

  const chain = { version: 1, name: 'chain', steps: { a: { prompt: 'a' }, b: { prompt: 'b {{ steps.a.output }}', depends_on: ['a'] } } };

  it('answers a hand-off once the result is committed', async () => {
    const run = await h.startInline(chain);
    const a = await h.job(run.id, 'a');
    expect(await h.generated(a, { output: 'handed over' })).toBe('handed');
    // No waiting: the answer came after the commit, and the next step's job left with it.
    expect((await h.stepRows(run.id)).a).toMatchObject({ status: 'succeeded', output: 'handed over' });
    expect(h.eventsOf(StepGenerated, run.id)).toHaveLength(1);
    expect((await h.job(run.id, 'b')).context.steps).toEqual({ a: { output: 'handed over' } });
  });

  it('is handed the stored result when a redelivered producer reports another answer under the same id', async () => {
    const run = await h.startInline(chain);
    const a = await h.job(run.id, 'a');
    // The first answer reached the events stream, and its producer died before handing it over.
    await h.publishEventOnly(a, { output: 'first answer' });
    // Its job, redelivered, got another answer from the model: the planner applies the one the events show.
    expect(await h.generated(a, { output: 'second answer' })).toBe('handed');
    expect((await h.stepRows(run.id)).a).toMatchObject({ status: 'succeeded', output: 'first answer' });
    // The events stream kept the first (JetStream dropped the second publish of the id).
    const s = subjects(h.ns);
    const stored = await (await jetstreamManager(h.nc)).streams.getMessage(s.streams.events, { last_by_subj: s.event('step', 'generated', run.id) });
    expect(stored?.json<{ id: string; data: StepGenerated }>()).toMatchObject({ id: resultIds.generated(a), data: { output: 'first answer' } });
  });

  it('queues a result when no planner answers the hand-off, and applies it from the queue', async () => {
    const run = await h.startInline(chain);
    const a = await h.job(run.id, 'a');
    h.planner.signal('SIGSTOP');
    let outcome: Promise<string>;
    try {
      outcome = h.generated(a, { output: 'queued' }, { handoffTimeoutMs: 300 });
      expect(await outcome).toBe('queued');
    } finally {
      h.planner.signal('SIGCONT');
    }
    await h.event(StepCompleted, run.id, (e) => e.stepId === 'a');
    await h.resultsConsumed();
    expect((await h.stepRows(run.id)).a).toMatchObject({ status: 'succeeded', output: 'queued' });
    // The hand-off the paused planner read on waking, after its producer had given up, applied nothing twice.
    expect(await h.runRow(run.id)).toMatchObject({ inputTokens: 10, outputTokens: 5 });
    expect(h.jobsOf(run.id, 'b')).toHaveLength(1);
  });

  it('retires the durables that read results on the events stream before ADR 0017', async () => {
    // The harness created one as an older planner had left it; the planner deleted it at start.
    const names = (await (await jetstreamManager(h.nc)).consumers.list(subjects(h.ns).streams.events).next()).map((c) => c.name);
    expect(names).not.toContain('planner-step-generated');
  });

  it('applies a result delivered twice once', async () => {
    const run = await h.startInline(chain);
    const a = await h.job(run.id, 'a');
    await h.generated(a, { output: 'first', usage: { inputTokens: 100, outputTokens: 10 }, cost: 0.5 });
    // The same result under another message id: JetStream's dedupe does not catch it, the planner must.
    await h.generated(a, { output: 'first', usage: { inputTokens: 100, outputTokens: 10 }, cost: 0.5 }, { id: `${resultIds.generated(a)}.again` });
    await h.resultsConsumed();
    expect(await h.runRow(run.id)).toMatchObject({ status: 'running', inputTokens: 100, outputTokens: 10, cost: 0.5 });

    await h.generated(await h.job(run.id, 'b'), { usage: { inputTokens: 1, outputTokens: 1 } });
    expect(await h.event(RunCompleted, run.id)).toMatchObject({ status: 'succeeded', usage: { inputTokens: 101, outputTokens: 11 }, cost: 0.5 });
    await h.resultsConsumed();
    expect(h.eventsOf(StepCompleted, run.id).map((e) => e.stepId)).toEqual(['a', 'b']);
    expect(h.jobsOf(run.id, 'b')).toHaveLength(1);
  });

  it('applies a result once when its copy arrives in the same batch as other results of the run', async () => {
    const run = await h.startInline({ version: 1, name: 'pair', steps: { a: { prompt: 'a' }, b: { prompt: 'b' } } });
    const [a, b] = [await h.job(run.id, 'a'), await h.job(run.id, 'b')];
    await whilePaused(async () => {
      await h.generated(a, { usage: { inputTokens: 100, outputTokens: 10 }, cost: 0.5 });
      await h.generated(a, { usage: { inputTokens: 100, outputTokens: 10 }, cost: 0.5 }, { id: `${resultIds.generated(a)}.again` });
      await h.generated(b, { usage: { inputTokens: 1, outputTokens: 1 }, cost: 0.25 });
    });
    expect(await h.event(RunCompleted, run.id)).toMatchObject({ status: 'succeeded', usage: { inputTokens: 101, outputTokens: 11 }, cost: 0.75 });
    await h.resultsConsumed();
    expect(await h.runRow(run.id)).toMatchObject({ inputTokens: 101, outputTokens: 11, cost: 0.75 });
    expect(h.eventsOf(StepCompleted, run.id).map((e) => e.stepId).sort()).toEqual(['a', 'b']);
  });

  it('ignores a different answer for an attempt already applied', async () => {
    const run = await h.startInline(chain);
    const a = await h.job(run.id, 'a');
    await h.generated(a, { output: 'kept' });
    await h.event(StepCompleted, run.id, (e) => e.stepId === 'a');
    await h.generated(a, { output: 'overwritten?', usage: { inputTokens: 999, outputTokens: 999 } }, { id: `${resultIds.generated(a)}.other-executor` });
    await h.failed(a, { code: 'llm.timeout', message: 'late failure' });
    await h.resultsConsumed();
    expect((await h.stepRows(run.id)).a).toMatchObject({ status: 'succeeded', attempt: 1, output: 'kept', error: null });
    expect(await h.runRow(run.id)).toMatchObject({ status: 'running', inputTokens: 10 });
    expect((await h.job(run.id, 'b')).context.steps).toEqual({ a: { output: 'kept' } });
  });

  it("ignores a result of an attempt that is not the step's current one", async () => {
    const run = await h.startInline({ version: 1, name: 'looped', steps: { a: { prompt: 'a', verify: { gates: [{ contains: 'x' }] } } } });
    const a1 = await h.job(run.id, 'a');
    await h.generated(a1, { output: 'no' });
    await h.verified(await h.verifyJob(run.id, 'a', 1), { verdict: 'retry', score: 0.1, iteration: 1, feedback: 'Add x.' });
    const a2 = await h.job(run.id, 'a', 2);
    // Attempt 1's executor reports again (its job was redelivered), and a result for an attempt never dispatched arrives.
    await h.generated(a1, { output: 'stale' }, { id: `${resultIds.generated(a1)}.redelivered` });
    await h.generated({ ...a2, attempt: 3 }, { output: 'from the future' });
    await h.resultsConsumed();
    expect((await h.stepRows(run.id)).a).toMatchObject({ status: 'dispatched', attempt: 2 });
    expect(h.verifyJobs.filter((j) => j.runId === run.id)).toHaveLength(1);

    await h.generated(a2, { output: 'x marks it' });
    expect(await h.verifyJob(run.id, 'a', 2)).toMatchObject({ output: 'x marks it' });
  });

  it('acknowledges and ignores results for an unknown run or an unknown step', async () => {
    const run = await h.startInline(chain);
    const a = await h.job(run.id, 'a');
    await h.generated({ ...a, stepId: 'ghost' });
    await h.generated({ ...a, runId: '01a00000-0000-7000-8000-00000000beef' });
    await h.resultsConsumed();
    expect(await h.runRow(run.id)).toMatchObject({ status: 'running', inputTokens: 0 });
    expect(await h.runRow('01a00000-0000-7000-8000-00000000beef')).toBeUndefined();
  });

  // Last in this file: the result that cannot be applied stays on the planner's consumer, redelivered for hours.
  it("applies a continuation's result that overtook the result which made its step ready, once that one is applied", async () => {
    const run = await h.startInline(chain);
    const a = await h.job(run.id, 'a');
    // The executor that ran a published b's job itself (a's `then`) and another executor answered it first.
    const b = { ...a.then![0]!, context: { ...a.then![0]!.context, steps: { a: { output: 'A!' } } } };
    expect(b).toMatchObject({ stepId: 'b', attempt: 1 });
    await h.generated(b, { output: 'B!' });
    await h.generated(a, { output: 'A!', continued: ['b'] });
    expect(await h.event(RunCompleted, run.id)).toMatchObject({ status: 'succeeded' });
    expect(await h.stepRows(run.id)).toMatchObject({ a: { status: 'succeeded', output: 'A!' }, b: { status: 'succeeded', attempt: 1, output: 'B!' } });
    // The planner recorded b dispatched and did not publish its job again.
    expect(h.jobsOf(run.id, 'b')).toEqual([]);
  });

  describe('many results at once, one of which cannot be applied', () => {
    const single = { version: 1, name: 'single', steps: { only: { prompt: 'x' } } };
    let good: string[];
    let bad: string;

    beforeAll(async () => {
      const runs = await Promise.all(Array.from({ length: 9 }, () => h.startInline(single)));
      const jobs = await Promise.all(runs.map((r) => h.job(r.id, 'only')));
      bad = runs[4]!.id;
      good = runs.filter((r) => r.id !== bad).map((r) => r.id);
      // PostgreSQL text cannot hold a NUL character: this result cannot be stored. A model or a tool can return one.
      await whilePaused(() => Promise.all(jobs.map((job) => h.generated(job, { output: job.runId === bad ? 'binary\u0000junk' : `fine ${job.runId}` }))));
    });

    it('applies every other result of the batch, and fails the step whose result can never be stored at once, saying why', async () => {
      for (const runId of good) expect(await h.event(RunCompleted, runId)).toMatchObject({ status: 'succeeded', usage: { inputTokens: 10, outputTokens: 5 } });
      for (const runId of good) expect((await h.stepRows(runId)).only).toMatchObject({ status: 'succeeded', output: `fine ${runId}` });

      // Retrying cannot store it: dead-lettered on its first failure (not retried for hours), and its step failed with why.
      expect(await h.event(RunCompleted, bad)).toMatchObject({ status: 'failed' });
      const only = (await h.stepRows(bad)).only;
      expect(only).toMatchObject({ status: 'failed', output: null, error: { code: 'planner_dead_letter' } });
      expect(only?.error?.message).toContain('PostgreSQL cannot store this result');
      expect(await h.runRow(bad)).toMatchObject({ status: 'failed', inputTokens: 0 });
    });
  });
});
