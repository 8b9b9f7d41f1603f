import type { RunView } from '@trellis/contracts';
import { ApiClient, startTestPlatform, waitFor, type TestPlatform } from '@trellis/testing';

const ADMIN_TOKEN = 'admin-token-for-the-admission-restart-test';
/** Enough that at least 300 still wait when the planner is killed (one runs at a time, three seconds each). */
const RUNS = 340;

/**
 * Queued runs live in PostgreSQL (ADR 0014): a planner SIGKILLed with 300 runs waiting for a
 * slot is started again, and every one of them starts — in the project's order — and completes.
 * The project runs one at a time while the runs are submitted, so that they queue; after the
 * restart the admin raises its limit, which starts the queued runs at once.
 */
describe('a planner killed with runs queued', () => {
  let ctx: TestPlatform;

  beforeAll(async () => {
    ctx = await startTestPlatform({ serviceEnv: { gateway: { TRELLIS_ADMIN_TOKEN: ADMIN_TOKEN } } });
  }, 60_000);
  afterAll(() => ctx?.stop(), 60_000);

  it('starts every queued run after the restart, in order within the project, each once', async () => {
    const admin = new ApiClient(ctx.platform.gatewayUrl, ADMIN_TOKEN);
    expect((await admin.post('/v1/projects', { id: 'patient', maxRunningRuns: 1 })).status).toBe(201);
    const api = new ApiClient(ctx.platform.gatewayUrl, (await admin.post('/v1/projects/patient/keys', {})).body.key);
    const spec = { version: 1, name: 'patient', inputs: { n: { type: 'integer' } }, steps: { a: { prompt: 'wait your turn {{ inputs.n }} [[sim latency_ms=3000]]' } } };

    // One after another: the order of submission is then the queue's order (run ids are taken
    // before a start reaches admission, so requests racing each other may queue out of id order).
    const answers = [];
    for (let n = 0; n < RUNS; n++) answers.push(await api.post<RunView>('/v1/runs', { spec, inputs: { n } }));
    expect(answers.map((a) => a.status).filter((s) => s !== 202)).toEqual([]);
    const queued = await waitFor('300 runs to be queued', async () => {
      const usage = await api.get('/v1/usage');
      return usage.body.runs.queued >= 300 ? usage.body.runs.queued : undefined;
    });
    expect(queued).toBeGreaterThanOrEqual(300);

    await ctx.platform.get('planner').kill();
    await ctx.platform.restart('planner');
    expect((await admin.request('PATCH', '/v1/projects/patient', { maxRunningRuns: 50 })).status).toBe(200);

    const done = await Promise.all(answers.map((a) => api.waitForRun(a.body.id, 180_000)));
    expect(done.filter((r) => r.status !== 'succeeded').map((r) => [r.id, r.status])).toEqual([]);
    // Each step once: one model request per run.
    const requests = ctx.simulator.requests().filter((q) => /^wait your turn \d+/.test(String(q.messages.at(-1)?.content)));
    expect(requests).toHaveLength(RUNS);
    // Order kept: in the order of submission, no run started before one submitted ahead of it.
    const byQueueOrder = done;
    const outOfOrder = byQueueOrder.filter((r, i) => i > 0 && Date.parse(r.startedAt!) < Date.parse(byQueueOrder[i - 1]!.startedAt!));
    expect(outOfOrder.map((r) => r.id)).toEqual([]);
  }, 300_000);
});
