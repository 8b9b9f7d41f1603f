import { startTestPlatform, waitFor, type TestPlatform } from '@trellis/testing';

/**
 * Readiness means ready (ADR 0010): the gateway says ready only once the planner and the
 * template registry have answered, so the first request after "ready" is answered; a later
 * planner outage does not make it unready (no cascade), its requests get 503 + Retry-After.
 */
describe('gateway readiness', () => {
  let ctx: TestPlatform;

  beforeAll(async () => {
    ctx = await startTestPlatform({ executors: 1 });
  }, 60_000);
  afterAll(() => ctx?.stop(), 60_000);

  const spec = { version: 1, name: 'ready-check', steps: { only: { prompt: 'Say hello.' } } };
  const startRun = () => ctx.api.post('/v1/runs', { spec });
  const readiness = async () => {
    const res = await fetch(`${ctx.platform.gatewayUrl}/readyz`);
    return { status: res.status, body: (await res.json()) as { status: string; checks: Record<string, boolean> } };
  };

  it('answers the first run right after the platform reports ready', async () => {
    // Platform.start returned when every /readyz said 200 (as `trellis up` prints "ready").
    const first = await startRun();
    expect(first.status).toBe(202);
    expect((await readiness()).body.checks).toMatchObject({ planner: true, 'template-registry': true, nats: true, postgres: true });
  });

  it('stays ready through a planner outage, answering 503 with Retry-After and a problem naming the planner', async () => {
    const planner = ctx.platform.get('planner');
    await planner.stop();

    expect((await readiness()).status).toBe(200);
    const refused = await startRun();
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.body).toMatchObject({ code: 'unavailable', title: 'Service unavailable', detail: expect.stringContaining('no planner is answering') });

    await ctx.platform.restart('planner');
  });

  it('is not ready when it starts while the planner is down, and becomes ready, and answers, once the planner is back', async () => {
    const gateway = ctx.platform.get('gateway');
    const planner = ctx.platform.get('planner');
    await planner.stop();
    await gateway.stop();
    gateway.start();

    const waiting = await waitFor('the restarted gateway to answer its readiness probe', async () => {
      const r = await readiness().catch(() => undefined);
      return r?.body.checks.nats ? r : undefined;
    });
    expect(waiting).toMatchObject({ status: 503, body: { status: 'not_ready', checks: { planner: false, 'template-registry': true } } });
    expect((await startRun()).status).toBe(503);

    planner.start();
    await waitFor('the gateway to become ready', async () => (await readiness()).status === 200, { timeoutMs: 30_000 });
    expect((await startRun()).status).toBe(202);
  });
});
