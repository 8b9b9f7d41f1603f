import { jetstreamManager } from '@nats-io/jetstream';
import { subjects } from '@trellis/contracts';
import { connectNats, type NatsConnection } from '@trellis/messaging';
import { startTestPlatform, streamMessages, testEnv, waitFor, modelCalls, type TestPlatform } from '@trellis/testing';

/**
 * Fault: a handler that always fails with a retryable error. Two of them: the executor (its
 * model always answers 503) and the verifier (its judge model always answers 503).
 *
 * Executor. Expected:
 * the executor backs off between tries (exponential, from the step's retry policy) until the
 * policy's last try, then reports the step failed with the reason; the planner fails the
 * step and the run cleanly with that reason, skips what depends on it, and the work queue is
 * left empty: no message redelivered forever.
 *
 * Where this departs from the wording ("then dead-lettered"): the executor applies
 * the retry policy itself and, on the last try, publishes `step.failed` and acks, so the run
 * fails at once with the model's error rather than through the dead-letter queue. The queue's
 * own delivery limit (25, above any policy) dead-letters only failures outside the policy
 * (NATS down while publishing the result); libs/messaging's consumer-runner tests cover that
 * path (retryable until max deliver, then dead-lettered with the reason).
 *
 * Verifier. Expected: the verification job is redelivered with backoff until
 * VERIFIER_MAX_DELIVER, then dead-lettered with the judge's error as the reason; the step
 * fails with that reason and so does the run.
 */
describe('fault: a handler that always fails retryably (a model that always answers 503)', () => {
  let ctx: TestPlatform;
  let nc: NatsConnection;

  beforeAll(async () => {
    // Three deliveries of a verification job (backoff 1 s, then 5 s) before it is dead-lettered.
    ctx = await startTestPlatform({ serviceEnv: { verifier: { VERIFIER_MAX_DELIVER: '3' } } });
    nc = await connectNats({ servers: testEnv.natsUrl, name: 'fault-test' });
  }, 60_000);
  afterAll(async () => {
    await nc?.close();
    await ctx?.stop();
  }, 60_000);

  it('backs off until the last try, then fails the step and the run with the reason; the queue is left empty', async () => {
    const started = await ctx.api.post('/v1/runs', {
      spec: {
        version: 1,
        name: 'always-503',
        steps: {
          flaky: { prompt: 'always unavailable [[sim status=503]]', retry: { attempts: 4, backoff: { initial: '200ms', max: '2s' } } },
          downstream: { depends_on: ['flaky'], prompt: 'never asked: {{ steps.flaky.output }}' },
        },
      },
    });
    expect(started.status).toBe(202);
    const run = await ctx.api.waitForRun(started.body.id, 60_000);

    expect(run.status).toBe('failed');
    const flaky = run.steps.find((s) => s.id === 'flaky')!;
    expect(flaky.status).toBe('failed');
    expect(flaky.error).toMatchObject({ retryable: true });
    expect(flaky.error!.message).toMatch(/503/);
    expect(run.error?.message ?? '').toMatch(/flaky|503/);
    expect(run.steps.find((s) => s.id === 'downstream')!.status).not.toBe('succeeded');

    // Exactly the policy's four tries, each after a backoff at least half the exponential delay (jitter).
    const tries = modelCalls(ctx.simulator, { startingWith: 'always unavailable' });
    expect(tries.map((r) => r.status)).toEqual([503, 503, 503, 503]);
    const gaps = tries.slice(1).map((r, i) => r.receivedAt - tries[i]!.receivedAt);
    [200, 400, 800].forEach((exponential, i) => expect(gaps[i]).toBeGreaterThanOrEqual(exponential / 2));
    expect(modelCalls(ctx.simulator, { startingWith: 'never asked' })).toHaveLength(0);

    // One failure reported, nothing dead-lettered, nothing left on the queue.
    const s = subjects(ctx.namespace);
    expect(await streamMessages(nc, s.streams.events, s.event('step', 'failed', run.id))).toHaveLength(1);
    await waitFor('the executor queue to be empty', async () => {
      const info = await (await jetstreamManager(nc)).consumers.info(s.streams.work, 'executor-default');
      return info.num_pending === 0 && info.num_ack_pending === 0;
    });
    expect(await streamMessages(nc, s.streams.deadLetters)).toHaveLength(0);
  }, 90_000);

  it('redelivers a verification whose judge always answers 503 until the delivery limit, dead-letters it, and fails the step and run with the reason', async () => {
    const started = await ctx.api.post('/v1/runs', {
      spec: {
        version: 1,
        name: 'judge-503',
        steps: {
          judged: { prompt: 'judged answer', verify: { gates: [{ judge: { rubric: 'Precise. [[sim status=503]]', categories: ['accuracy'] } }] } },
        },
      },
    });
    expect(started.status).toBe(202);
    const run = await ctx.api.waitForRun(started.body.id, 60_000);

    expect(run.status).toBe('failed');
    const judged = run.steps.find((x) => x.id === 'judged')!;
    expect(judged.status).toBe('failed');
    expect(judged.error!.message).toMatch(/503/);

    // Three judge calls, the second and third after the consumer's backoff (1 s, 5 s, ±20 %).
    const judgeCalls = modelCalls(ctx.simulator, { mentioning: 'Precise. [[sim status=503]]' });
    expect(judgeCalls.map((r) => r.status)).toEqual([503, 503, 503]);
    expect(judgeCalls[1]!.receivedAt - judgeCalls[0]!.receivedAt).toBeGreaterThanOrEqual(800);
    expect(judgeCalls[2]!.receivedAt - judgeCalls[1]!.receivedAt).toBeGreaterThanOrEqual(4_000);

    const s = subjects(ctx.namespace);
    const letters = await streamMessages(nc, s.streams.deadLetters);
    expect(letters).toHaveLength(1);
    expect(letters[0]!.headers['Trellis-Dlq-Consumer']).toBe('verifier-verify');
    expect(letters[0]!.headers['Trellis-Dlq-Deliveries']).toBe('3');
    expect(letters[0]!.headers['Trellis-Dlq-Reason']).toMatch(/503/);
  }, 90_000);
});
