import { PlannerRpc, RunCompleted, RunQueued, RunStarted, type RunView } from '@trellis/contracts';
import { rpcError, uniqueToken, waitFor } from '@trellis/testing';
import { PlannerHarness } from './planner-harness';

/**
 * Admission (ADR 0014), with the test playing the gateway and the executors: runs beyond their
 * project's limit or their pipeline's concurrency key are queued, never refused, and start as
 * slots free, by priority then submission; a queued run can be cancelled; a project's budget
 * refuses new runs once spent and stops dispatching mid-run.
 */
describe('planner: admission', () => {
  let h: PlannerHarness;

  beforeAll(async () => {
    h = await PlannerHarness.start();
  }, 60_000);
  afterAll(() => h?.stop(), 30_000);

  const project = () => `adm-${uniqueToken()}`;
  const one = (name: string) => ({ version: 1, name, steps: { only: { prompt: 'hi' } } });
  const start = (p: string, spec: object, extra: Partial<Parameters<typeof h.call<typeof PlannerRpc.startRun>>[1]> = {}): Promise<RunView> =>
    h.call(PlannerRpc.startRun, { project: p, source: { json: spec }, inputs: {}, ...extra });
  const finish = async (run: RunView) => {
    await h.generated(await h.job(run.id, 'only'));
    await h.event(RunCompleted, run.id);
  };

  it('never runs more than its concurrency key allows per value, and starts the next of a key when one of it ends', async () => {
    const p = project();
    const spec = { version: 1, name: 'per-customer', inputs: { customer: { type: 'string' } }, concurrency: { max: 2, key: 'inputs.customer' }, steps: { only: { prompt: 'for {{ inputs.customer }}' } } };
    const acme = [];
    for (let i = 0; i < 3; i++) acme.push(await start(p, spec, { inputs: { customer: 'acme' } }));
    const globex = await start(p, spec, { inputs: { customer: 'globex' } });
    expect(acme.map((r) => r.status)).toEqual(['running', 'running', 'queued']);
    // Another key is not held up by the first one's queue: it starts while acme's third waits.
    if (globex.status !== 'running') await h.event(RunStarted, globex.id);
    expect(h.eventsOf(RunStarted, acme[2]!.id)).toEqual([]);
    await finish(acme[0]!);
    expect(await h.event(RunStarted, acme[2]!.id)).toMatchObject({ queuedMs: expect.any(Number) });
  });

  it('starts queued runs by priority, then in order of submission', async () => {
    const p = project();
    const first = await start(p, one('prio'), { maxRunning: 1 });
    const low = await start(p, one('prio'), { maxRunning: 1, priority: 2 });
    const normal = await start(p, one('prio'), { maxRunning: 1 });
    const urgent = await start(p, one('prio'), { maxRunning: 1, priority: 5 });
    expect([low, normal, urgent].map((r) => r.status)).toEqual(['queued', 'queued', 'queued']);
    // The place each was told: behind those of its priority or higher.
    expect((await h.call(PlannerRpc.getRun, { project: p, runId: urgent.id })).queue).toMatchObject({ position: 1 });
    expect((await h.call(PlannerRpc.getRun, { project: p, runId: low.id })).queue).toMatchObject({ position: 3 });
    const order: string[] = [];
    let current = first;
    for (let i = 0; i < 3; i++) {
      await finish(current);
      const next = await waitFor('the next run to start', () => [urgent, normal, low].find((r) => !order.includes(r.id) && h.eventsOf(RunStarted, r.id).length));
      order.push(next.id);
      current = next;
    }
    expect(order).toEqual([urgent.id, normal.id, low.id]);
  });

  it('starts every queued run when many running runs end at once, never more at a time than the limit', async () => {
    const p = project();
    const limit = 4;
    const runs: RunView[] = [];
    for (let i = 0; i < 16; i++) runs.push(await start(p, one('burst-end'), { maxRunning: limit }));
    expect(runs.map((r) => r.status)).toEqual([...Array(limit).fill('running'), ...Array(16 - limit).fill('queued')]);
    // Runs end in waves of four at once: the admission passes they ask for overlap (and are coalesced).
    let started = runs.slice(0, limit);
    const done = new Set<string>();
    while (done.size < runs.length) {
      await Promise.all(started.map((r) => finish(r)));
      for (const r of started) done.add(r.id);
      const running = (await h.call(PlannerRpc.usage, { project: p })).runs.running;
      expect(running).toBeLessThanOrEqual(limit);
      const waiting = runs.filter((r) => !done.has(r.id));
      started = waiting.length ? await waitFor('the next wave to start', () => {
        const wave = waiting.filter((r) => h.eventsOf(RunStarted, r.id).length || r.status === 'running');
        return wave.length === Math.min(limit, waiting.length) ? wave : undefined;
      }) : [];
    }
    expect(await h.call(PlannerRpc.usage, { project: p })).toMatchObject({ runs: { running: 0, queued: 0 } });
  });

  it('cancels a queued run: nothing of it runs, and the runs behind it move up', async () => {
    const p = project();
    const first = await start(p, one('cancel-queued'), { maxRunning: 1 });
    const doomed = await start(p, one('cancel-queued'), { maxRunning: 1 });
    const next = await start(p, one('cancel-queued'), { maxRunning: 1 });
    expect(await h.event(RunQueued, next.id)).toMatchObject({ position: 2 });
    expect(await h.call(PlannerRpc.cancelRun, { project: p, runId: doomed.id })).toMatchObject({ status: 'cancelled', steps: [{ status: 'skipped' }] });
    expect((await h.call(PlannerRpc.getRun, { project: p, runId: next.id })).queue).toMatchObject({ position: 1 });
    await finish(first);
    await h.event(RunStarted, next.id);
    expect(h.jobsOf(doomed.id)).toEqual([]);
    expect(h.eventsOf(RunStarted, doomed.id)).toEqual([]);
  });

  it("refuses a run once the project's budget for the day is spent, naming the budget, and changes nothing", async () => {
    const p = project();
    const budget = { maxTokensPerDay: 15 };
    const run = await start(p, one('budget'), { budget });
    // The harness's executor answers with 10 + 5 tokens: the budget is spent.
    await finish(run);
    await waitFor('the usage to count the run', async () => (await h.call(PlannerRpc.usage, { project: p })).usage.outputTokens === 5);
    const err = await rpcError(start(p, one('budget'), { budget }));
    expect(err).toMatchObject({ code: 'resource_exhausted', issues: [{ path: ['budget', 'maxTokensPerDay'] }] });
    expect(err.message).toContain('maxTokensPerDay is 15');
    expect(await h.call(PlannerRpc.usage, { project: p })).toMatchObject({ usage: { inputTokens: 10, outputTokens: 5 }, runs: { started: 1, running: 0, queued: 0 } });
  });

  it('stops dispatching a run whose usage crosses the budget mid-way: what is in flight finishes, then the run fails with the budget', async () => {
    const p = project();
    const spec = { version: 1, name: 'crossing', steps: { a: { prompt: 'a' }, b: { prompt: 'b' }, after: { depends_on: ['a'], prompt: 'x' } } };
    const run = await start(p, spec, { budget: { maxTokensPerDay: 15 } });
    const [a, b] = [await h.job(run.id, 'a'), await h.job(run.id, 'b')];
    // a's 15 tokens spend the day's budget while b is still in flight: nothing more starts.
    await h.generated(a);
    await waitFor('a to be applied', async () => (await h.stepRows(run.id)).after?.status === 'failed');
    expect(await h.runRow(run.id)).toMatchObject({ status: 'running' });
    expect(h.jobsOf(run.id, 'after')).toEqual([]);
    await h.generated(b);
    const ended = await h.event(RunCompleted, run.id);
    expect(ended).toMatchObject({ status: 'failed', error: { code: 'budget_exhausted' } });
    expect(await h.stepRows(run.id)).toMatchObject({ a: { status: 'succeeded' }, b: { status: 'succeeded' }, after: { status: 'failed', error: { code: 'budget_exhausted' } } });
  });
});
