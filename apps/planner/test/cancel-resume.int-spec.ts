import { PlannerRpc, RunCompleted, RunResumed, StepCompleted } from '@trellis/contracts';
import { rpcError } from '@trellis/testing';
import { PlannerHarness } from './planner-harness';

/**
 * Cancel and resume over the planner's RPCs (as the gateway calls them), the test playing
 * the executors: what ends, what runs again and at which attempt, and which late results
 * no longer count.
 */
describe('planner: cancel and resume', () => {
  let h: PlannerHarness;

  beforeAll(async () => {
    h = await PlannerHarness.start();
  }, 60_000);
  afterAll(() => h?.stop(), 30_000);

  // a and b run side by side; c needs both.
  const fanIn = {
    version: 1,
    name: 'fan-in',
    steps: { a: { prompt: 'a' }, b: { prompt: 'b' }, c: { prompt: 'Join {{ steps.a.output }} {{ steps.b.output }}', depends_on: ['a', 'b'] } },
  };

  it('cancels a running run: run.completed cancelled, steps in flight cancelled, pending ones skipped', async () => {
    const run = await h.startInline(fanIn);
    await h.generated(await h.job(run.id, 'a'), { output: 'done a' });
    await h.event(StepCompleted, run.id, (e) => e.stepId === 'a');
    await h.job(run.id, 'b');

    const cancelled = await h.call(PlannerRpc.cancelRun, { runId: run.id });
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.steps.map((s) => [s.id, s.status])).toEqual([
      ['a', 'succeeded'],
      ['b', 'cancelled'],
      ['c', 'skipped'],
    ]);
    // Executors abort the run's calls when they see this event.
    expect(await h.event(RunCompleted, run.id)).toMatchObject({ status: 'cancelled', usage: { inputTokens: 10, outputTokens: 5 } });
    expect(await h.event(StepCompleted, run.id, (e) => e.stepId === 'b')).toMatchObject({ status: 'cancelled', attempt: 1 });
    expect(await h.event(StepCompleted, run.id, (e) => e.stepId === 'c')).toMatchObject({ status: 'skipped', error: { code: 'run_cancelled' } });
    expect(await h.runRow(run.id)).toMatchObject({ status: 'cancelled' });
  });

  it('resumes a cancelled run: cancelled and skipped steps run again at a new attempt, completed outputs are reused, late results of the old attempt are ignored', async () => {
    const run = await h.startInline(fanIn);
    await h.generated(await h.job(run.id, 'a'), { output: 'done a' });
    await h.event(StepCompleted, run.id, (e) => e.stepId === 'a');
    const b1 = await h.job(run.id, 'b');
    await h.call(PlannerRpc.cancelRun, { runId: run.id });

    const resumed = await h.call(PlannerRpc.resumeRun, { runId: run.id });
    expect(resumed.status).toBe('running');
    expect(resumed.steps.map((s) => [s.id, s.status, s.attempt])).toEqual([
      ['a', 'succeeded', 1],
      ['b', 'dispatched', 2],
      ['c', 'pending', 0],
    ]);
    expect(await h.event(RunResumed, run.id)).toEqual({ runId: run.id, steps: ['b', 'c'] });
    const b2 = await h.job(run.id, 'b', 2);
    expect(b2.context).toEqual(b1.context);

    // The executor of attempt 1 answers late: it no longer counts.
    await h.generated(b1, { output: 'late b' });
    await h.resultsConsumed();
    expect((await h.stepRows(run.id)).b).toMatchObject({ status: 'dispatched', attempt: 2, output: null });
    expect(h.jobsOf(run.id, 'c')).toEqual([]);

    await h.generated(b2, { output: 'fresh b' });
    const c = await h.job(run.id, 'c');
    expect(c.context.steps).toEqual({ a: { output: 'done a' }, b: { output: 'fresh b' } });
    await h.generated(c);
    expect(await h.event(RunCompleted, run.id, (e) => e.status !== 'cancelled')).toMatchObject({ status: 'succeeded', usage: { inputTokens: 30, outputTokens: 15 } });
    expect(h.jobsOf(run.id, 'a')).toHaveLength(1);
    const steps = await h.stepRows(run.id);
    expect([steps.a?.attempt, steps.b?.attempt, steps.c?.attempt]).toEqual([1, 2, 1]);
    expect(steps.b).toMatchObject({ status: 'succeeded', output: 'fresh b' });
  });

  it('resumes a failed run from the failed step, with a fresh verification loop', async () => {
    const run = await h.startInline({
      version: 1,
      name: 'resume-failed',
      steps: { a: { prompt: 'a', verify: { gates: [{ contains: 'x' }] } }, b: { prompt: 'b', depends_on: ['a'] } },
    });
    await h.generated(await h.job(run.id, 'a'));
    await h.verified(await h.verifyJob(run.id, 'a', 1), { verdict: 'retry', score: 0.2, iteration: 1, feedback: 'Add x.' });
    await h.failed(await h.job(run.id, 'a', 2), { code: 'llm.bad_request', message: 'refused' });
    expect(await h.event(RunCompleted, run.id)).toMatchObject({ status: 'failed', error: { code: 'llm.bad_request' } });
    expect((await h.stepRows(run.id)).b).toMatchObject({ status: 'skipped' });

    await h.call(PlannerRpc.resumeRun, { runId: run.id });
    // A resumed step starts a new loop: round 1 again, no feedback from the old loop.
    const a3 = await h.job(run.id, 'a', 3);
    expect(a3.iteration).toBe(1);
    expect(a3.feedback).toBeUndefined();
    expect(a3.previousOutput).toBeUndefined();
    await h.generated(a3, { output: 'with x' });
    await h.verified(await h.verifyJob(run.id, 'a', 3), { verdict: 'accept', score: 1, iteration: 1, stop: 'accepted' });
    await h.generated(await h.job(run.id, 'b'));
    expect(await h.event(RunCompleted, run.id, (e) => e.status === 'succeeded')).toBeDefined();
    expect(await h.runRow(run.id)).toMatchObject({ status: 'succeeded', error: null });
    expect((await h.stepRows(run.id)).a).toMatchObject({ status: 'succeeded', attempt: 3, output: 'with x', iterations: 1 });
  });

  it('refuses to cancel a finished run or resume a running one (failed_precondition), and changes nothing', async () => {
    const run = await h.startInline({ version: 1, name: 'refusals', steps: { only: { prompt: 'x' } } });
    expect((await rpcError(h.call(PlannerRpc.resumeRun, { runId: run.id }))).code).toBe('failed_precondition');
    await h.generated(await h.job(run.id, 'only'));
    await h.event(RunCompleted, run.id);
    expect((await rpcError(h.call(PlannerRpc.cancelRun, { runId: run.id }))).code).toBe('failed_precondition');
    expect((await rpcError(h.call(PlannerRpc.resumeRun, { runId: run.id }))).code).toBe('failed_precondition');
    expect(await h.runRow(run.id)).toMatchObject({ status: 'succeeded' });
    expect(h.eventsOf(RunCompleted, run.id)).toHaveLength(1);
  });

  it("answers not_found for an unknown run and for another project's run", async () => {
    const run = await h.startInline({ version: 1, name: 'private', steps: { only: { prompt: 'x' } } });
    expect((await rpcError(h.call(PlannerRpc.cancelRun, { runId: '01a00000-0000-7000-8000-000000000000' }))).code).toBe('not_found');
    expect((await rpcError(h.call(PlannerRpc.cancelRun, { project: 'someone-else', runId: run.id }))).code).toBe('not_found');
    expect((await rpcError(h.call(PlannerRpc.resumeRun, { project: 'someone-else', runId: run.id }))).code).toBe('not_found');
    expect((await rpcError(h.call(PlannerRpc.getRun, { project: 'someone-else', runId: run.id }))).code).toBe('not_found');
    expect(await h.runRow(run.id)).toMatchObject({ status: 'running' });
  });
});
