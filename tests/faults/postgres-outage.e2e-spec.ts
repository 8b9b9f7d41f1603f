import { jetstreamManager } from '@nats-io/jetstream';
import { subjects } from '@trellis/contracts';
import { connectNats, type NatsConnection } from '@trellis/messaging';
import { startTestPlatform, testEnv, waitFor, type TestPlatform } from '@trellis/testing';

const chain = {
  version: 1,
  name: 'postgres-outage',
  inputs: { n: { type: 'string', required: true } },
  steps: {
    a: { prompt: 'before the outage {{ inputs.n }} [[sim latency_ms=1500]]' },
    b: { depends_on: ['a'], prompt: 'after the outage {{ inputs.n }}: {{ steps.a.output }}' },
  },
};

/**
 * Fault: PostgreSQL becomes unreachable mid-run. The machine's shared server keeps running
 * (other test files use it): the services reach it through a TCP proxy this file cuts, which
 * resets every open connection and refuses new ones, for as long as the test needs (here
 * until the planner has handed step results back more than once, ~10 s). Expected: readiness
 * fails on the services that own a database; the planner hands the step results it cannot
 * apply back to JetStream (nak with delay) instead of losing them; once the route returns,
 * every run completes with each step applied once.
 */
describe('fault: PostgreSQL unreachable mid-run', () => {
  let ctx: TestPlatform;
  let nc: NatsConnection;

  beforeAll(async () => {
    ctx = await startTestPlatform({ databaseProxy: true });
    nc = await connectNats({ servers: testEnv.natsUrl, name: 'fault-test' });
  }, 60_000);
  afterAll(async () => {
    ctx?.databaseProxy?.restore();
    await nc?.close();
    await ctx?.stop();
  }, 60_000);

  it('fails readiness while PostgreSQL is away, hands messages back, and loses nothing once it returns', async () => {
    const proxy = ctx.databaseProxy!;
    const runs: string[] = [];
    for (let n = 0; n < 5; n++) {
      const res = await ctx.api.post('/v1/runs', { spec: chain, inputs: { n: String(n) } });
      expect(res.status).toBe(202);
      runs.push(res.body.id);
    }
    const calls = (prefix: string) => ctx.simulator.requests().filter((r) => r.messages.some((m) => m.content.startsWith(prefix)));
    await waitFor('every first step to reach the model', () => calls('before the outage').length === 5);

    proxy.cutRoute();
    for (const name of ['planner', 'gateway', 'template-registry']) {
      const p = ctx.platform.get(name);
      await waitFor(`${name} to report not ready`, async () => (await fetch(`${p.url}/readyz`)).status === 503, { timeoutMs: 15_000 });
    }
    // The executor finishes the first steps meanwhile; the planner cannot record them: it
    // declines each hand-off, the executor queues the result (ADR 0017), and the planner hands
    // those back: the server redelivers them.
    const s = subjects(ctx.namespace);
    const jsm = await jetstreamManager(nc);
    await waitFor(
      'the planner to hand step results back',
      async () => {
        const info = await jsm.consumers.info(s.streams.work, 'planner-step-generated');
        return info.delivered.stream_seq > 0 && info.num_redelivered > 0 && info.ack_floor.consumer_seq < info.delivered.consumer_seq;
      },
      { timeoutMs: 30_000 },
    );
    expect(runs.length).toBe(5);
    proxy.restore();

    for (const p of ctx.platform.processes.values()) await p.waitReady(30_000);
    const finished = await Promise.all(runs.map((id) => ctx.api.waitForRun(id, 90_000)));
    expect(finished.map((r) => r.status)).toEqual(runs.map(() => 'succeeded'));
    for (const run of finished) expect(run.steps.map((x) => [x.id, x.status, x.attempt])).toEqual([['a', 'succeeded', 1], ['b', 'succeeded', 1]]);
    // Each first step went to the model once (its result waited in JetStream), each second once.
    expect(calls('before the outage')).toHaveLength(5);
    for (let n = 0; n < 5; n++) expect(calls(`after the outage ${n}:`)).toHaveLength(1);
    expect(proxy.connections).toBeGreaterThan(0);
  }, 180_000);
});
