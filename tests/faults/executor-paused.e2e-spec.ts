import { jetstreamManager } from '@nats-io/jetstream';
import { subjects } from '@trellis/contracts';
import { connectNats, type NatsConnection } from '@trellis/messaging';
import { startTestPlatform, streamMessages, testEnv, waitFor, type TestPlatform } from '@trellis/testing';

/**
 * Fault: an executor is SIGSTOPped (a GC pause, a frozen VM) while it holds a step, for
 * longer than the ack wait, then resumed. Expected: JetStream hands the step to another
 * replica, whose result is applied; the paused replica's late result, when it wakes and
 * publishes it, is ignored: the step is applied once and its downstream runs once.
 */
describe('fault: an executor paused past the ack wait, then resumed', () => {
  let ctx: TestPlatform;
  let nc: NatsConnection;
  const calls = (prefix: string) => ctx.simulator.requests().filter((r) => r.messages.some((m) => m.content.startsWith(prefix)));

  beforeAll(async () => {
    ctx = await startTestPlatform({
      executors: 1,
      // Steps come back 3 s after their holder stops heartbeating (a third of the ack wait).
      serviceEnv: { executor: { EXECUTOR_ACK_WAIT_MS: '3000' } },
    });
    nc = await connectNats({ servers: testEnv.natsUrl, name: 'fault-test' });
  }, 60_000);
  afterAll(async () => {
    // Never leave a stopped process behind: a SIGSTOPped child ignores SIGTERM until continued.
    ctx?.platform.processes.forEach((p) => p.signal('SIGCONT'));
    await nc?.close();
    await ctx?.stop();
  }, 60_000);

  it('ignores the late result of a SIGSTOPped executor: the step is applied once, downstream runs once', async () => {
    const spec = {
      version: 1,
      name: 'paused-executor',
      steps: {
        slow: { prompt: 'paused holder [[sim latency_ms=2000]]' },
        after: { depends_on: ['slow'], prompt: 'after the pause: {{ steps.slow.output }}' },
      },
    };
    const started = await ctx.api.post('/v1/runs', { spec });
    expect(started.status).toBe(202);
    const runId: string = started.body.id;
    await waitFor('executor-1 to call the model for the slow step', () => calls('paused holder').length === 1);
    const paused = ctx.platform.get('executor-1');
    paused.signal('SIGSTOP');

    // A second replica takes the step once executor-1's ack wait lapses.
    await ctx.platform.addExecutor();
    const run = await ctx.api.waitForRun(runId, 60_000);
    expect(run.status).toBe('succeeded');
    const slow = run.steps.find((s) => s.id === 'slow')!;
    expect(slow).toMatchObject({ status: 'succeeded', attempt: 1, executor: 'executor-2' });
    expect(calls('paused holder')).toHaveLength(2);

    // Wake executor-1. Its model call answered while it was stopped: it publishes that late
    // result now. It may also have been delivered `after` while frozen (its pull request was
    // still open at the server): it reads that stale delivery on waking, sees the stall, and
    // leaves it unrun. A plain subscription sees every publish, even those the stream's
    // dedupe drops.
    const s = subjects(ctx.namespace);
    const published: Array<{ stepId: string; executor: string }> = [];
    const sub = nc.subscribe(s.event('step', 'generated', runId), {
      callback: (_err, m) => {
        published.push((m.json() as { data: { stepId: string; executor: string } }).data);
      },
    });
    await nc.flush();
    paused.signal('SIGCONT');
    const lateFrom1 = (stepId: string) => published.some((d) => d.stepId === stepId && d.executor === 'executor-1');
    await waitFor('executor-1 to publish its late result', () => lateFrom1('slow'), { timeoutMs: 20_000 });
    sub.unsubscribe();
    // The planner has taken the late results (handed over, or queued: nothing pending) and changed nothing.
    await waitFor('the planner to consume every step result', async () => {
      const info = await (await jetstreamManager(nc)).consumers.info(s.streams.work, 'planner-step-generated');
      return info.num_pending === 0 && info.num_ack_pending === 0;
    });
    const after = (await ctx.api.get(`/v1/runs/${runId}`)).body as typeof run;
    expect(after.status).toBe('succeeded');
    expect(after.steps.map((x) => [x.id, x.attempt, x.executor, x.output])).toEqual(run.steps.map((x) => [x.id, 1, 'executor-2', x.output]));
    // Each step was applied once: one step.completed each; `after` reached the model once,
    // from executor-2 (a stale copy read by executor-1 on waking is not run).
    const completed = (await streamMessages(nc, s.streams.events, s.event('step', 'completed', runId))).map((e) => JSON.parse(e.text).data.stepId as string);
    expect(completed.sort()).toEqual(['after', 'slow']);
    expect(calls('after the pause')).toHaveLength(1);
    expect(published.filter((d) => d.stepId === 'after').map((d) => d.executor)).not.toContain('executor-1');
  }, 120_000);
});
