import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { subjects } from '@trellis/contracts';
import { connectNats, DeadLetterHeaders, HANDOFF_DECLINED, type NatsConnection } from '@trellis/messaging';
import { startTestPlatform, streamMessages, testEnv, waitFor, type TestPlatform } from '@trellis/testing';

/**
 * Fault: a poison message (not JSON, or JSON that fails the contract) on the subject of every
 * durable consumer of every service. Expected: each consumer dead-letters it on its first
 * delivery, with the reason, the consumer and the original subject in headers; and keeps
 * going: a run published afterwards completes, through every one of them.
 */
describe('fault: a poison message on every consumer', () => {
  let ctx: TestPlatform;
  let nc: NatsConnection;

  beforeAll(async () => {
    ctx = await startTestPlatform();
    nc = await connectNats({ servers: testEnv.natsUrl, name: 'fault-test' });
  }, 60_000);
  afterAll(async () => {
    await nc?.close();
    await ctx?.stop();
  }, 60_000);

  it('dead-letters each poison message with its reason on first delivery, and every consumer keeps going', async () => {
    const s = subjects(ctx.namespace);
    const js = jetstream(nc);
    // subject → the durables that consume it (several services may share one subject).
    const targets: Array<{ subject: string; durables: string[]; body: string }> = [
      { subject: s.stepWork('default'), durables: ['executor-default'], body: 'not json at all' },
      { subject: s.verifyWork, durables: ['verifier-verify'], body: '{"specversion":"1.0","type":"dev.trellis.verify.requested"}' },
      { subject: s.resultWork('generated'), durables: ['planner-step-generated'], body: '{"broken": ' },
      { subject: s.resultWork('verified'), durables: ['planner-step-verified'], body: '{"data":{"runId":42}}' },
      { subject: s.resultWork('failed'), durables: ['planner-step-failed'], body: '[]' },
      { subject: s.productsWork, durables: ['planner-products'], body: 'null' },
      { subject: s.experimentWork, durables: ['registry-experiment-outcomes'], body: '{"id":"x"}' },
    ];
    for (const t of targets) await js.publish(t.subject, t.body);
    // Handed over directly (ADR 0017), a poison result is declined, not applied: its producer queues it, where it is dead-lettered as above.
    const declined = await nc.request(s.handoff(s.resultWork('generated')), '{"broken": ', { timeout: 5_000 });
    expect(declined.string()).toBe(HANDOFF_DECLINED.invalid);

    const expected = targets.flatMap((t) => t.durables.map((durable) => ({ durable, subject: t.subject })));
    const letters = await waitFor(
      'every consumer to dead-letter its poison message',
      async () => {
        const all = await streamMessages(nc, s.streams.deadLetters);
        return all.length >= expected.length ? all : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(letters).toHaveLength(expected.length);
    for (const { durable, subject } of expected) {
      const letter = letters.find((l) => l.headers[DeadLetterHeaders.consumer] === durable);
      expect({ durable, subject: letter?.headers[DeadLetterHeaders.subject], deliveries: letter?.headers[DeadLetterHeaders.deliveries] }).toEqual({ durable, subject, deliveries: '1' });
      expect(letter!.headers[DeadLetterHeaders.reason]).toBeTruthy();
      expect(letter!.subject).toBe(s.deadLetter(subject));
    }
    // The reason names what was wrong, not just "failed".
    const executorLetter = letters.find((l) => l.headers[DeadLetterHeaders.consumer] === 'executor-default')!;
    expect(executorLetter.headers[DeadLetterHeaders.reason]).toMatch(/json|parse|invalid/i);
    expect(executorLetter.text).toBe('not json at all');

    // Every consumer goes on: a run through the executor, the verifier, the planner and the registry.
    const started = await ctx.api.post('/v1/runs', {
      spec: {
        version: 1,
        name: 'after-poison',
        steps: {
          a: { prompt: 'after the poison', verify: { gates: [{ length: { min: 1 } }] } },
          b: { depends_on: ['a'], prompt: 'then {{ steps.a.output }}' },
        },
      },
    });
    expect(started.status).toBe(202);
    const run = await ctx.api.waitForRun(started.body.id, 30_000);
    expect(run.status).toBe('succeeded');
    const jsm = await jetstreamManager(nc);
    for (const { durable } of expected) {
      const stream = s.streams[targets.find((t) => t.durables.includes(durable))!.subject.startsWith(`${s.root}.work.`) ? 'work' : 'events'];
      await waitFor(`${durable} to have consumed everything`, async () => {
        const info = await jsm.consumers.info(stream, durable);
        return info.num_pending === 0 && info.num_ack_pending === 0 && info.num_redelivered === 0;
      });
    }
    // Nothing else was dead-lettered.
    expect(await streamMessages(nc, s.streams.deadLetters)).toHaveLength(expected.length);
  }, 90_000);
});
