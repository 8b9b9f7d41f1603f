import type { StepReady } from '@trellis/contracts';
import { uniqueToken, waitFor } from '@trellis/testing';
import { ExecutorHarness } from './executor-harness';

/**
 * Two executor processes share one provider limit of 60 requests per minute through the
 * JetStream KV bucket. A burst of more jobs than the limit: the first 60 go through at once,
 * the rest wait inside their handlers (pulled, heartbeating, not redelivered) until the
 * minute has passed. The simulator's recorded arrival times are the measure.
 */
describe('executor rate limits across replicas', () => {
  let h: ExecutorHarness;
  const LIMIT = 60;
  const JOBS = 66;

  beforeAll(async () => {
    h = await ExecutorHarness.start();
    const providers = h.providersFile(`
version: 1
providers:
  sim:
    base_url: ${h.sim.url}
    api_key_env: OPENAI_API_KEY
    rpm: ${LIMIT}
models:
  limited-model:
    provider: sim
    price: { input: 1, output: 1 }
    context_window: 8192
`);
    const env = { TRELLIS_PROVIDERS: providers, EXECUTOR_ACK_WAIT_MS: '5000', EXECUTOR_CONCURRENCY: '64' };
    await Promise.all([h.startExecutor(env), h.startExecutor(env)]);
  }, 60_000);
  afterAll(() => h?.stop(), 30_000);

  it('never lets the simulator see more than the limit in any 60-second window', async () => {
    const marker = uniqueToken('rl');
    const jobs: StepReady[] = [];
    for (let i = 0; i < JOBS; i++) jobs.push(await h.publishJob({ model: 'limited-model', prompt: `Item ${i} ${marker}` }));

    await waitFor('the first minute’s worth of calls', () => h.requestsFor(marker).length === LIMIT, { timeoutMs: 20_000 });
    // Every job was pulled; the ones over the limit are held by the executors, waiting for the
    // window far longer than the ack wait (5 s), kept alive by in-progress acks.
    await waitFor('all jobs to be pulled', async () => {
      const c = await h.consumer();
      return c.num_pending === 0 && c.num_ack_pending === JOBS - LIMIT;
    });
    expect(h.requestsFor(marker).length).toBe(LIMIT);

    const finished = () => h.seen.generated.filter((g) => jobs.some((j) => j.stepId === g.stepId)).length;
    await waitFor('every job to finish', () => finished() === JOBS, { timeoutMs: 90_000 }).catch(async (err: Error) => {
      const c = await h.consumer();
      throw new Error(`${err.message}: ${finished()} finished, ${h.requestsFor(marker).length} calls, ${h.seen.failed.length} failed, consumer pending ${c.num_pending} / in progress ${c.num_ack_pending} / redelivered ${c.num_redelivered}`);
    });
    const times = h.requestsFor(marker).map((r) => r.receivedAt).sort((a, b) => a - b);
    expect(times).toHaveLength(JOBS); // one call per job: waiting cost no delivery and no redelivery
    for (let i = 0; i < times.length; i++) {
      const inWindow = times.filter((t) => t >= times[i]! && t < times[i]! + 60_000).length;
      expect(inWindow).toBeLessThanOrEqual(LIMIT);
    }
    expect(times[LIMIT]! - times[0]!).toBeGreaterThanOrEqual(60_000);
    expect((await h.consumer()).num_redelivered).toBe(0);
    // Both replicas took part.
    expect(new Set(h.seen.generated.map((g) => g.executor))).toEqual(new Set(['executor-1', 'executor-2']));
  }, 120_000);
});
