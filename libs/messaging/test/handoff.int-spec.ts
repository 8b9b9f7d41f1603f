import { z } from 'zod';
import { defineEvent, subjects } from '@trellis/contracts';
import { EventPublisher, HANDOFF_DECLINED, deleteNamespace, provisionStreams, serveHandoff, type HandoffEndpoint, type NatsConnection } from '@trellis/messaging';
import { connect, lastMessage, quietLogs, testNamespace } from './nats-test-kit';

const JobDone = defineEvent('job', 'done', z.object({ runId: z.string(), n: z.number().int() }));

/** Direct hand-off (ADR 0017) against a real NATS: what is handed over, and what is queued instead. */
describe('hand-off', () => {
  let nc: NatsConnection;
  const ns = testNamespace('thand');
  const s = subjects(ns);
  const queue = `${s.root}.work.result.generated`;
  const to = { queue, handoff: s.handoff(queue) };
  let publisher: EventPublisher;
  const served: HandoffEndpoint[] = [];
  const serve = (handler: (data: { runId: string; n: number }) => Promise<void>, concurrency = 16) => {
    const endpoint = serveHandoff({ nc, subject: to.handoff, queue: 'test-handoff', contract: JobDone, handler, concurrency });
    served.push(endpoint);
    return endpoint;
  };
  const publishAndHandOff = (n: number, extra: { handoffTimeoutMs?: number } = {}) =>
    publisher.publishAndHandOff(JobDone, { runId: 'r1', n }, { subject: s.event('job', 'done', 'r1'), id: `done-${n}`, ...to, ...extra });

  beforeAll(async () => {
    quietLogs();
    nc = await connect('messaging-handoff-test');
    await provisionStreams(nc, ns);
    publisher = new EventPublisher(nc, { source: 'trellis/test' });
  });
  afterEach(async () => {
    await Promise.all(served.splice(0).map((e) => e.stop({ graceMs: 1_000 })));
  });
  afterAll(async () => {
    await deleteNamespace(nc, ns);
    await nc.close();
  });

  it('publishes the event, then hands it over: the consumer has done the work when it answers, and nothing is queued', async () => {
    const seen: number[] = [];
    serve(async ({ n }) => {
      await new Promise((r) => setTimeout(r, 20));
      seen.push(n);
    });
    expect(await publishAndHandOff(1)).toBe('handed');
    expect(seen).toEqual([1]);
    expect((await lastMessage(nc, s.streams.events, s.event('job', 'done', 'r1')))?.json<{ data: unknown }>().data).toEqual({ runId: 'r1', n: 1 });
    expect(await lastMessage(nc, s.streams.work, queue)).toBeUndefined();
  });

  it('queues the event at once when nobody serves the hand-off (no waiting for the timeout)', async () => {
    const startedAt = Date.now();
    expect(await publishAndHandOff(2, { handoffTimeoutMs: 5_000 })).toBe('queued');
    expect(Date.now() - startedAt).toBeLessThan(2_000);
    const queued = await lastMessage(nc, s.streams.work, queue);
    expect(queued?.header.get('Nats-Msg-Id')).toBe('done-2');
    expect(queued?.json()).toMatchObject({ id: 'done-2', type: JobDone.type, data: { runId: 'r1', n: 2 } });
  });

  it('queues it when the handler fails, and when the consumer is at its concurrency', async () => {
    serve(async () => {
      throw new Error('database down');
    });
    expect(await publishAndHandOff(3)).toBe('queued');
    await Promise.all(served.splice(0).map((e) => e.stop()));

    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    serve(() => held, 1);
    const first = publishAndHandOff(4);
    await new Promise((r) => setTimeout(r, 50));
    expect(await publishAndHandOff(5)).toBe('queued');
    release();
    expect(await first).toBe('handed');
  });

  it('queues it when no answer comes in time', async () => {
    serve(() => new Promise((r) => setTimeout(r, 1_000)));
    expect(await publishAndHandOff(6, { handoffTimeoutMs: 200 })).toBe('queued');
  });

  it('declines a message that does not fit the contract, without running the handler', async () => {
    let ran = false;
    serve(async () => {
      ran = true;
    });
    const answer = await nc.request(to.handoff, '{"data":{"runId":42}}', { timeout: 2_000 });
    expect(answer.string()).toBe(HANDOFF_DECLINED.invalid);
    expect(ran).toBe(false);
  });

  it('hands over the stored event when the stream already held its id (a redelivered producer)', async () => {
    const seen: number[] = [];
    serve(async ({ n }) => {
      seen.push(n);
    });
    await publisher.publish(JobDone, { runId: 'r1', n: 7 }, { subject: s.event('job', 'done', 'r1'), id: 'done-redelivered' });
    expect(await publisher.publishAndHandOff(JobDone, { runId: 'r1', n: 8 }, { subject: s.event('job', 'done', 'r1'), id: 'done-redelivered', ...to })).toBe('handed');
    expect(seen).toEqual([7]);
  });
});
