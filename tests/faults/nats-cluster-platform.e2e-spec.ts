import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { subjects } from '@trellis/contracts';
import { connectNats, deleteNamespace, provisionStreams, type NatsConnection } from '@trellis/messaging';
import { REPO_ROOT, startTestPlatform, startNatsCluster, streamMessages, waitFor, type TestPlatform, type NatsCluster } from '@trellis/testing';

const RUNS = 60;
const chain = {
  version: 1,
  name: 'cluster-burst',
  inputs: { n: { type: 'string', required: true } },
  steps: {
    a: { prompt: 'cluster first {{ inputs.n }} [[sim latency_ms=300]]' },
    b: { depends_on: ['a'], prompt: 'cluster second {{ inputs.n }}: {{ steps.a.output }}' },
  },
};

/**
 * Fault: every service runs against a 3-node NATS cluster (deploy/nats/cluster.conf on
 * loopback, NATS_URL listing the three nodes, streams with three replicas), and the node leading
 * the work stream is SIGKILLed in the middle of a burst of runs. Expected: the services move
 * to the surviving nodes, the streams elect new leaders, every run completes, each step
 * applied once.
 */
describe('fault: a NATS cluster node killed under a burst of runs', () => {
  let cluster: NatsCluster;
  let nc: NatsConnection;
  let ctx: TestPlatform;

  beforeAll(async () => {
    cluster = await startNatsCluster({ size: 3, configFile: join(REPO_ROOT, 'deploy/nats/cluster.conf') });
    nc = await connectNats({ servers: cluster.urls.split(','), name: 'fault-test' });
    // The services provision at start: wait until the cluster accepts replicated streams.
    await waitFor('the cluster to accept R3 streams', () => provisionStreams(nc, 'warmup', { replicas: 3 }).then(() => true), { timeoutMs: 30_000, intervalMs: 500 });
    await deleteNamespace(nc, 'warmup');
    ctx = await startTestPlatform({ natsUrl: cluster.urls, executors: 2, env: { NATS_STREAM_REPLICAS: '3' }, serviceEnv: { executor: { EXECUTOR_ACK_WAIT_MS: '3000' } } });
  }, 90_000);
  afterAll(async () => {
    await ctx?.stop();
    await nc?.close();
    await cluster?.stop();
  }, 90_000);

  it('completes every run of a burst when the work stream leader is SIGKILLed mid-way', async () => {
    const s = subjects(ctx.namespace);
    const jsm = await jetstreamManager(nc);
    // Services create their streams with NATS_STREAM_REPLICAS replicas once that variable is
    // wired into their provisioning; until then they create one, and an operator raises it
    // (docs/operations.md, "NATS cluster"): do that here, then wait for every replica to be current.
    for (const stream of [s.streams.events, s.streams.work, s.streams.deadLetters]) {
      const { config } = await jsm.streams.info(stream);
      if (config.num_replicas !== 3) await jsm.streams.update(stream, { ...config, num_replicas: 3 });
      await waitFor(`${stream} to have three current replicas`, async () => {
        const info = await jsm.streams.info(stream);
        return info.config.num_replicas === 3 && (info.cluster?.replicas ?? []).length === 2 && info.cluster!.replicas!.every((r) => r.current);
      }, { timeoutMs: 30_000, intervalMs: 250 });
    }

    const runs: string[] = [];
    for (let n = 0; n < RUNS; n++) {
      if (n === RUNS / 2) {
        const leader = (await jsm.streams.info(s.streams.work)).cluster?.leader;
        const node = cluster.nodes.find((x) => x.name === leader)!;
        await node.kill();
      }
      // The gateway may answer 503 while its connection moves to another node: retry as a client would.
      const res = await waitFor(`run ${n} to be accepted`, async () => {
        const r = await ctx.api.post('/v1/runs', { spec: chain, inputs: { n: String(n) } });
        return r.status === 202 ? r : undefined;
      }, { timeoutMs: 60_000, intervalMs: 250 });
      runs.push(res.body.id);
    }
    const finished = await Promise.all(runs.map((id) => ctx.api.waitForRun(id, 120_000)));
    expect(finished.filter((r) => r.status !== 'succeeded').map((r) => [r.id, r.status, r.error])).toEqual([]);
    // An event whose direct publish failed while the cluster re-elected stays in the outbox
    // and is republished by the relay's poll once its lease ends (seconds later): wait for all
    // of them (reads may also time out during the election, hence the retries).
    let steps: Array<{ runId: string; stepId: string; attempt: number }> = [];
    await waitFor(
      'every step.completed event in the stream',
      async () => {
        const completed = await streamMessages(nc, s.streams.events, s.eventsOfType('step', 'completed'));
        steps = completed.map((m) => JSON.parse(m.text).data as { runId: string; stepId: string; attempt: number });
        return steps.length >= 2 * RUNS;
      },
      { timeoutMs: 90_000, intervalMs: 1000 },
    ).catch(() => undefined);
    expect(steps).toHaveLength(2 * RUNS);
    expect(new Set(steps.map((x) => `${x.runId}/${x.stepId}`)).size).toBe(2 * RUNS);
    expect(steps.every((x) => x.attempt === 1)).toBe(true);
  }, 300_000);
});
