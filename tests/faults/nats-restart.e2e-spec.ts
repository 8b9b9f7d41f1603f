import { startTestPlatform, startNatsServer, waitFor, type TestPlatform, type NatsServerProcess } from '@trellis/testing';

const chain = {
  version: 1,
  name: 'nats-restart',
  inputs: { n: { type: 'string', required: true } },
  steps: {
    a: { prompt: 'first {{ inputs.n }} [[sim latency_ms=800]]' },
    b: { depends_on: ['a'], prompt: 'second {{ inputs.n }} [[sim latency_ms=800]]: {{ steps.a.output }}' },
    c: { depends_on: ['b'], prompt: 'third {{ inputs.n }}: {{ steps.b.output }}' },
  },
};

/**
 * Fault: the NATS server (JetStream on file storage) is killed mid-run and started again on
 * the same port and store. It runs privately for this file: the machine's shared server is
 * never touched. Expected: every service notices (readiness fails), reconnects by itself,
 * and every run completes with each step applied once.
 */
describe('fault: NATS killed and restarted mid-run', () => {
  let nats: NatsServerProcess;
  let ctx: TestPlatform;

  beforeAll(async () => {
    nats = await startNatsServer();
    ctx = await startTestPlatform({ natsUrl: nats.url, executors: 2, serviceEnv: { executor: { EXECUTOR_ACK_WAIT_MS: '3000' } } });
  }, 60_000);
  afterAll(async () => {
    // The server last: the services' cleanup deletes the namespace's streams through it.
    if (nats && !nats.running) await nats.restart().catch(() => undefined);
    await ctx?.stop();
    await nats?.stop();
  }, 60_000);

  it('reconnects every service after a NATS SIGKILL and restart; every run completes once', async () => {
    const runs: string[] = [];
    for (let n = 0; n < 6; n++) {
      const res = await ctx.api.post('/v1/runs', { spec: chain, inputs: { n: String(n) } });
      expect(res.status).toBe(202);
      runs.push(res.body.id);
    }
    const calls = (prefix: string) => ctx.simulator.requests().filter((r) => r.messages.some((m) => m.content.startsWith(prefix)));
    await waitFor('first steps in flight', () => calls('first').length >= 3);

    await nats.kill();
    // Every service sees the outage: readiness fails where NATS is a dependency.
    for (const name of ['planner', 'executor-1', 'gateway']) {
      const p = ctx.platform.get(name);
      await waitFor(`${name} to report not ready`, async () => (await fetch(`${p.url}/readyz`)).status === 503, { timeoutMs: 15_000 });
    }
    await nats.restart();
    for (const p of ctx.platform.processes.values()) await p.waitReady(30_000);

    const finished = await Promise.all(runs.map((id) => ctx.api.waitForRun(id, 90_000)));
    expect(finished.map((r) => r.status)).toEqual(runs.map(() => 'succeeded'));
    for (const run of finished) expect(run.steps.map((s) => [s.id, s.status, s.attempt])).toEqual([['a', 'succeeded', 1], ['b', 'succeeded', 1], ['c', 'succeeded', 1]]);
    // The last step of each run reached the model once: nothing downstream ran twice.
    for (let n = 0; n < runs.length; n++) expect(calls(`third ${n}:`)).toHaveLength(1);
  }, 180_000);
});
