import { randomBytes } from 'node:crypto';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { ROOT_CONTEXT, context, trace } from '@opentelemetry/api';
import { z } from 'zod';
import { defineEvent, subjects, type Subjects } from '@trellis/contracts';
import {
  ConsumerRunner,
  DeadLetterHeaders,
  EventPublisher,
  NonRetryableError,
  RetryableError,
  deleteNamespace,
  ensureConsumer,
  provisionStreams,
  type ConsumerOptions,
  type DeadLetterInfo,
  type MessageContext,
  type NatsConnection,
} from '@trellis/messaging';
import { shutdownTelemetry, startTelemetry } from '@trellis/telemetry';
import { connect, gate, lastMessage, quietLogs, testNamespace, token, waitFor } from './nats-test-kit';

const Job = defineEvent('test', 'job', z.object({ n: z.number().int(), note: z.string().default('') }));
const Other = defineEvent('test', 'other', z.object({ label: z.string() }));

describe('ConsumerRunner', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let s: Subjects;
  let publisher: EventPublisher;
  const ns = testNamespace('tcons');
  const runners: ConsumerRunner<any>[] = [];

  beforeAll(async () => {
    // Registers the W3C propagator and an async context manager, as every service does.
    startTelemetry('messaging-test', {});
    quietLogs();
    nc = await connect('messaging-consumer-test');
    jsm = await jetstreamManager(nc);
    await provisionStreams(nc, ns);
    s = subjects(ns);
    publisher = new EventPublisher(nc, { source: 'trellis/test' });
  });

  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.stop({ graceMs: 0 })));
  });

  afterAll(async () => {
    await deleteNamespace(nc, ns);
    await nc.close();
    await shutdownTelemetry();
  });

  /** A work-queue consumer of its own (own subject, own durable) for one test. */
  async function queue(options: { ackWaitMs?: number } = {}) {
    const pool = `p${token()}`;
    const subject = s.stepWork(pool);
    const durable = `test-${pool}`;
    await ensureConsumer(nc, { stream: s.streams.work, durable, filterSubject: subject, ackWaitMs: options.ackWaitMs ?? 30_000, maxAckPending: 1000 });
    return { subject, durable, dlqSubject: s.deadLetter(subject) };
  }

  async function start<C extends typeof Job | typeof Other>(options: Omit<ConsumerOptions<C>, 'nc' | 'stream'>): Promise<ConsumerRunner<C>> {
    const runner = await ConsumerRunner.start<C>({ nc, stream: s.streams.work, ...options } as ConsumerOptions<C>);
    runners.push(runner);
    return runner;
  }

  const consumerState = (durable: string) => jsm.consumers.info(s.streams.work, durable);

  it('delivers typed data with its envelope and the producer trace context, then acks', async () => {
    const q = await queue();
    const received: Array<{ data: z.infer<typeof Job.data>; ctx: MessageContext; activeTraceId: string | undefined }> = [];
    await start({ durable: q.durable, contract: Job, handler: async (data, ctx) => void received.push({ data, ctx, activeTraceId: trace.getActiveSpan()?.spanContext().traceId }) });
    const traceId = randomBytes(16).toString('hex');
    const parent = trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: randomBytes(8).toString('hex'), traceFlags: 1 });

    const ack = await context.with(parent, () => publisher.publish(Job, { n: 7 }, { subject: q.subject, id: 'evt-1' }));

    const [got] = await waitFor(() => received.length === 1 && received, { what: 'the delivery' });
    expect(ack.duplicate).toBe(false);
    expect(got?.data).toEqual({ n: 7, note: '' });
    expect(got?.ctx).toMatchObject({ subject: q.subject, deliveryCount: 1, event: { id: 'evt-1', type: 'dev.trellis.test.job', source: 'trellis/test', specversion: '1.0' } });
    expect(got?.ctx.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(got?.activeTraceId).toBe(traceId);
    await waitFor(async () => (await consumerState(q.durable)).num_ack_pending === 0, { what: 'the ack' });
    expect((await consumerState(q.durable)).num_redelivered).toBe(0);
  });

  it('dispatches by envelope type when given several contracts', async () => {
    const q = await queue();
    const seen: string[] = [];
    await start<typeof Job | typeof Other>({
      durable: q.durable,
      contracts: [Job, Other],
      handler: async (data, ctx) => void seen.push(`${ctx.event.type}:${JSON.stringify(data)}`),
    });

    await publisher.publish(Job, { n: 1 }, { subject: q.subject });
    await publisher.publish(Other, { label: 'x' }, { subject: q.subject });

    await waitFor(() => seen.length === 2, { what: 'both deliveries' });
    expect(seen.sort()).toEqual(['dev.trellis.test.job:{"n":1,"note":""}', 'dev.trellis.test.other:{"label":"x"}']);
  });

  it('acks a message its `skip` names without decoding or handling it, and handles the rest', async () => {
    const base = `${s.root}.work.skip${token()}`;
    const durable = `test-skip-${token()}`;
    await ensureConsumer(nc, { stream: s.streams.work, durable, filterSubject: `${base}.>`, ackWaitMs: 30_000, maxAckPending: 100 });
    const handled: string[] = [];
    const deadLettered: DeadLetterInfo[] = [];
    const checked: string[] = [];
    await start({
      durable,
      contract: Job,
      skip: (subject) => {
        checked.push(subject);
        return subject.endsWith('.ignored');
      },
      handler: async (data, ctx) => void handled.push(`${ctx.subject.slice(base.length + 1)}:${data.n}`),
      onDeadLetter: async (info) => void deadLettered.push(info),
    });

    await publisher.publish(Job, { n: 1 }, { subject: `${base}.ignored` });
    // Not even JSON: were it decoded, it would be dead-lettered.
    await publisher.publishRaw(`${base}.ignored`, 'not json', { msgId: token() });
    await publisher.publish(Job, { n: 2 }, { subject: `${base}.wanted` });

    await waitFor(() => handled.length === 1, { what: 'the wanted message' });
    await waitFor(async () => {
      const c = await consumerState(durable);
      return c.num_ack_pending === 0 && c.num_pending === 0 && c.delivered.stream_seq > 0;
    }, { what: 'every message acked' });
    expect(handled).toEqual(['wanted:2']);
    expect(checked.filter((subject) => subject.endsWith('.ignored'))).toHaveLength(2);
    const state = await consumerState(durable);
    expect(state.num_redelivered).toBe(0);
    expect(deadLettered).toEqual([]);
    expect(await lastMessage(nc, s.streams.deadLetters, s.deadLetter(`${base}.ignored`))).toBeUndefined();
  });

  it('dead-letters a message that does not fit the contract on its first delivery, with the reason, and keeps consuming', async () => {
    // A wildcard filter so that each bad message has its own subject, and so its own dead-letter subject.
    const base = `${s.root}.work.bad${token()}`;
    const durable = `test-bad-${token()}`;
    await ensureConsumer(nc, { stream: s.streams.work, durable, filterSubject: `${base}.>`, ackWaitMs: 30_000, maxAckPending: 100 });
    const handled: number[] = [];
    const deadLettered: DeadLetterInfo[] = [];
    await start({ durable, contract: Job, handler: async (data) => void handled.push(data.n), onDeadLetter: async (info) => void deadLettered.push(info) });
    const envelope = (data: unknown) => JSON.stringify({ specversion: '1.0', id: token(), source: 'test', type: Job.type, time: new Date().toISOString(), data });

    await publisher.publishRaw(`${base}.json`, '{"specversion": "1.0", ', { msgId: token() });
    await publisher.publishRaw(`${base}.envelope`, JSON.stringify({ specversion: '2.0', type: 'nope', data: {} }), { msgId: token() });
    await publisher.publishRaw(`${base}.data`, envelope({ n: 'seven' }), { msgId: token() });
    await publisher.publishRaw(`${base}.good`, envelope({ n: 8 }), { msgId: token() });

    await waitFor(() => deadLettered.length === 3 && handled.length === 1, { what: 'three dead letters and one handled message' });
    expect(handled).toEqual([8]);
    const expected: Record<string, RegExp> = {
      json: /^invalid JSON: /,
      envelope: /^invalid CloudEvents envelope: specversion: .*; id: .*; source: .*; type: .*; time: /,
      data: /^invalid data for dev\.trellis\.test\.job: n: /,
    };
    for (const [suffix, reason] of Object.entries(expected)) {
      const subject = `${base}.${suffix}`;
      const dead = await waitFor(() => lastMessage(nc, s.streams.deadLetters, s.deadLetter(subject)), { what: `the dead letter of ${suffix}` });
      expect(dead.header.get(DeadLetterHeaders.reason)).toMatch(reason);
      expect(dead.header.get(DeadLetterHeaders.subject)).toBe(subject);
      expect(dead.header.get(DeadLetterHeaders.consumer)).toBe(durable);
      expect(dead.header.get(DeadLetterHeaders.deliveries)).toBe('1');
      expect(deadLettered.find((d) => d.subject === subject)).toMatchObject({ deliveryCount: 1, reason: expect.stringMatching(reason) });
    }
    expect(deadLettered.find((d) => d.subject === `${base}.data`)?.event?.type).toBe(Job.type);
    // Termed, so gone from the work queue rather than waiting for redelivery.
    await waitFor(async () => {
      const c = await jsm.consumers.info(s.streams.work, durable);
      return c.num_ack_pending === 0 && c.num_pending === 0;
    }, { what: 'the queue to drain' });
  });

  it('redelivers after a RetryableError with the backoff, then dead-letters past maxDeliver and calls onDeadLetter', async () => {
    const q = await queue();
    const deliveries: Array<{ count: number; at: number }> = [];
    const deadLettered: DeadLetterInfo[] = [];
    const backoffMs = [400, 800];
    await start({
      durable: q.durable,
      contract: Job,
      maxDeliver: 3,
      backoffMs,
      handler: async (_data, ctx) => {
        deliveries.push({ count: ctx.deliveryCount, at: Date.now() });
        throw new RetryableError('model overloaded', { code: 'overloaded' });
      },
      onDeadLetter: async (info) => void deadLettered.push(info),
    });

    await publisher.publish(Job, { n: 3 }, { subject: q.subject });

    const [info] = await waitFor(() => deadLettered.length === 1 && deadLettered, { what: 'the dead letter' });
    expect(deliveries.map((d) => d.count)).toEqual([1, 2, 3]);
    const gaps = deliveries.slice(1).map((d, i) => d.at - (deliveries[i]?.at ?? 0));
    expect(gaps[0]).toBeGreaterThanOrEqual(backoffMs[0]! * 0.8);
    expect(gaps[1]).toBeGreaterThanOrEqual(backoffMs[1]! * 0.8);
    expect(info).toMatchObject({ subject: q.subject, deliveryCount: 3, data: { n: 3, note: '' }, reason: 'failed 3 deliveries (limit 3); last error: overloaded: model overloaded' });
    const dead = await waitFor(() => lastMessage(nc, s.streams.deadLetters, q.dlqSubject), { what: 'the dead letter in the stream' });
    expect(dead.header.get(DeadLetterHeaders.deliveries)).toBe('3');
    expect(JSON.parse(new TextDecoder().decode(dead.data))).toMatchObject({ type: Job.type, data: { n: 3 } });
  });

  it("honours a RetryableError's retryAfterMs", async () => {
    const q = await queue();
    const at: number[] = [];
    await start({
      durable: q.durable,
      contract: Job,
      backoffMs: [60_000],
      handler: async () => {
        at.push(Date.now());
        if (at.length === 1) throw new RetryableError('rate limited', { retryAfterMs: 700 });
      },
    });

    await publisher.publish(Job, { n: 1 }, { subject: q.subject });

    await waitFor(() => at.length === 2, { what: 'the redelivery' });
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(690);
    expect(at[1]! - at[0]!).toBeLessThan(5_000);
  });

  it('dead-letters a NonRetryableError on the first delivery', async () => {
    const q = await queue();
    let calls = 0;
    const deadLettered: DeadLetterInfo[] = [];
    await start({
      durable: q.durable,
      contract: Job,
      handler: async () => {
        calls++;
        throw new NonRetryableError('template "x" does not exist', { code: 'template_not_found' });
      },
      onDeadLetter: async (info) => void deadLettered.push(info),
    });

    await publisher.publish(Job, { n: 1 }, { subject: q.subject });

    const dead = await waitFor(() => lastMessage(nc, s.streams.deadLetters, q.dlqSubject), { what: 'the dead letter' });
    expect(dead.header.get(DeadLetterHeaders.reason)).toBe('template_not_found: template "x" does not exist');
    expect(dead.header.get(DeadLetterHeaders.deliveries)).toBe('1');
    await waitFor(() => deadLettered.length === 1, { what: 'onDeadLetter' });
    expect(calls).toBe(1);
  });

  it('redelivers and dead-letters again when onDeadLetter fails, storing the dead letter once', async () => {
    const q = await queue();
    let attempts = 0;
    await start({
      durable: q.durable,
      contract: Job,
      backoffMs: [100],
      handler: async () => {
        throw new NonRetryableError('bad input');
      },
      onDeadLetter: async () => {
        if (++attempts === 1) throw new Error('database down');
      },
    });

    await publisher.publish(Job, { n: 1 }, { subject: q.subject });

    await waitFor(() => attempts === 2, { what: 'the second onDeadLetter' });
    await waitFor(async () => (await consumerState(q.durable)).num_ack_pending === 0, { what: 'the term' });
    const dlq = await jsm.streams.info(s.streams.deadLetters, { subjects_filter: q.dlqSubject });
    expect(dlq.state.subjects?.[q.dlqSubject]).toBe(1);
  });

  it('keeps a handler that outlasts the ack wait from being redelivered', async () => {
    const q = await queue({ ackWaitMs: 1_500 });
    let calls = 0;
    let finished = false;
    await start({
      durable: q.durable,
      contract: Job,
      handler: async () => {
        calls++;
        // The workload: longer than two ack waits.
        await new Promise((resolve) => setTimeout(resolve, 4_000));
        finished = true;
      },
    });

    await publisher.publish(Job, { n: 1 }, { subject: q.subject });

    await waitFor(() => finished, { what: 'the long handler', timeoutMs: 10_000 });
    await waitFor(async () => (await consumerState(q.durable)).num_ack_pending === 0, { what: 'the ack' });
    expect(calls).toBe(1);
    expect((await consumerState(q.durable)).num_redelivered).toBe(0);
  });

  it('never runs more handlers than its concurrency, and pulls no more than it can run', async () => {
    const q = await queue();
    const hold = gate();
    let active = 0;
    let maxActive = 0;
    let done = 0;
    const runner = await start({
      durable: q.durable,
      contract: Job,
      concurrency: 3,
      handler: async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await hold.promise;
        await new Promise((resolve) => setTimeout(resolve, 10));
        active--;
        done++;
      },
    });

    await Promise.all(Array.from({ length: 10 }, (_, n) => publisher.publish(Job, { n }, { subject: q.subject })));

    await waitFor(() => active === 3, { what: 'three handlers in flight' });
    // Held messages are exactly the running ones: nothing waits in this process's memory.
    const state = await consumerState(q.durable);
    expect(state.num_ack_pending).toBe(3);
    expect(state.num_pending).toBe(7);
    expect(runner.inFlight).toBe(3);
    hold.open();
    await waitFor(() => done === 10, { what: 'all ten handlers' });
    expect(maxActive).toBe(3);
  });

  it('on stop, lets handlers finish within the grace period and hands the rest back for redelivery', async () => {
    const q = await queue();
    const aborted: number[] = [];
    const firstRunner = await start({
      durable: q.durable,
      contract: Job,
      concurrency: 4,
      handler: async (data, ctx) => {
        if (data.n === 1) return new Promise((resolve) => setTimeout(resolve, 100));
        // A handler that only ends when told to.
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
        aborted.push(data.n);
      },
    });
    await publisher.publish(Job, { n: 1 }, { subject: q.subject });
    await publisher.publish(Job, { n: 2 }, { subject: q.subject });
    await waitFor(() => firstRunner.inFlight === 2, { what: 'both messages in flight' });

    const stoppedAt = Date.now();
    await firstRunner.stop({ graceMs: 500 });

    expect(Date.now() - stoppedAt).toBeLessThan(2_000);
    expect(aborted).toEqual([2]);
    const redelivered: number[] = [];
    await start({ durable: q.durable, contract: Job, handler: async (data) => void redelivered.push(data.n) });
    // Redelivered at once (nak), not after the 30 s ack wait. (NATS 2.9 may not even count
    // that delivery, so a restart does not eat into the message's delivery limit.)
    await waitFor(() => redelivered.length === 1, { what: 'the handed-back message', timeoutMs: 5_000 });
    expect(redelivered).toEqual([2]);
    await waitFor(async () => (await consumerState(q.durable)).num_ack_pending === 0, { what: 'the ack' });
  });
});
