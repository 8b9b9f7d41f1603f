import type { RunView } from '@trellis/contracts';
import { ApiClient, startTestPlatform, waitFor, type TestPlatform } from '@trellis/testing';

const ADMIN_TOKEN = 'admin-token-for-the-admission-restart-test';

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
    const spec = { version: 1, name: 'patient', inputs: { n: { type: 'integer' } }, steps: { a: { prompt: 'wait your turn {{ inputs.n }} [[sim latency_ms=300]]' } } };

    const answers = await Promise.all(Array.from({ length: 310 }, (_, n) => api.post<RunView>('/v1/runs', { spec, inputs: { n } })));
    expect(answers.map((a) => a.status).filter((s) => s !== 202)).toEqual([]);
    const queued = await waitFor('300 runs to be queued', async () => {
      const usage = await api.get('/v1/usage');
      return usage.body.runs.queued >= 295 ? usage.body.runs.queued : undefined;
    });
    expect(queued).toBeGreaterThanOrEqual(295);

    await ctx.platform.get('planner').kill();
    await ctx.platform.restart('planner');
    expect((await admin.request('PATCH', '/v1/projects/patient', { maxRunningRuns: 25 })).status).toBe(200);

    const done = await Promise.all(answers.map((a) => api.waitForRun(a.body.id, 180_000)));
    expect(done.filter((r) => r.status !== 'succeeded').map((r) => [r.id, r.status])).toEqual([]);
    // Each step once: one model request per run.
    const requests = ctx.simulator.requests().filter((q) => /^wait your turn \d+/.test(String(q.messages.at(-1)?.content)));
    expect(requests).toHaveLength(310);
    // Order kept: among the runs that were queued, in queue order (run ids sort by submission),
    // no run started before one queued ahead of it. (A run that found a free slot on arrival
    // started at once and was never in the queue.)
    const wasQueued = new Set(answers.filter((a) => a.body.status === 'queued').map((a) => a.body.id));
    const byQueueOrder = done.filter((r) => wasQueued.has(r.id)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const outOfOrder = byQueueOrder.filter((r, i) => i > 0 && Date.parse(r.startedAt!) < Date.parse(byQueueOrder[i - 1]!.startedAt!));
    expect(outOfOrder.map((r) => r.id)).toEqual([]);
  }, 300_000);
});
