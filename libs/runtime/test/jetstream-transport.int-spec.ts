import { Controller, Module } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { z } from 'zod';
import { defineEvent, DomainError, subjects } from '@trellis/contracts';
import { deleteNamespace, EventPublisher, NonRetryableError, RetryableError, RpcCallError, RpcClient, type DeadLetterInfo, type MessageContext, type NatsConnection } from '@trellis/messaging';
import { shutdownTelemetry } from '@trellis/telemetry';
import { bootstrapService, MessagingModule, OnDeadLetter, OnEvent, OnRpc, type RpcRequest } from '@trellis/runtime';
import { connect, gate, natsUrl, quietLogs, testNamespace, waitFor } from '../../messaging/test/nats-test-kit';

const Job = defineEvent('transport', 'job', z.object({ n: z.number().int(), outcome: z.enum(['ok', 'retry', 'fail', 'slow']) }));
type Job = z.infer<typeof Job.data>;
const Echo = { service: 'transport', method: 'echo', request: z.object({ text: z.string().min(1) }), response: z.object({ echoed: z.string() }) };
const Missing = { service: 'transport', method: 'missing', request: z.object({}), response: z.object({}) };

/** What the handlers saw, for the assertions. */
const seen = { deliveries: new Map<number, number[]>(), deadLetters: [] as DeadLetterInfo[], slow: gate(), slowStarted: false, slowFinished: false };

@Controller()
class TestHandlers {
  @OnEvent(Job, { stream: 'events', durable: 'transport-test-job', settings: (c: { TEST_CONCURRENCY: number }) => ({ concurrency: c.TEST_CONCURRENCY, backoffMs: [60_000] }) })
  async job(@Payload() job: Job, @Ctx() ctx: MessageContext) {
    seen.deliveries.set(job.n, [...(seen.deliveries.get(job.n) ?? []), ctx.deliveryCount]);
    if (job.outcome === 'retry' && ctx.deliveryCount === 1) throw new RetryableError('not yet', { retryAfterMs: 50 });
    if (job.outcome === 'fail') throw new NonRetryableError('cannot ever', { code: 'bad_job' });
    if (job.outcome === 'slow') {
      seen.slowStarted = true;
      await seen.slow.promise;
      seen.slowFinished = true;
    }
  }

  @OnDeadLetter('transport-test-job')
  deadLettered(@Payload() info: DeadLetterInfo) {
    seen.deadLetters.push(info);
  }

  @OnRpc(Echo)
  echo(@Payload() r: RpcRequest<typeof Echo>) {
    return Promise.resolve({ echoed: r.text });
  }

  @OnRpc(Missing)
  missing(): Promise<Record<string, never>> {
    throw new DomainError('not_found', 'nothing here');
  }
}

describe('JetStream transport (@nestjs/microservices)', () => {
  const ns = testNamespace('ttrans');
  const s = subjects(ns);
  let app: NestFastifyApplication | undefined;
  let nc: NatsConnection;
  let publisher: EventPublisher;
  let rpc: RpcClient;

  beforeAll(async () => {
    const config = { NATS_URL: [natsUrl], TRELLIS_NAMESPACE: ns, SHUTDOWN_GRACE_MS: 10_000, NATS_STREAM_REPLICAS: 1, TRELLIS_EVENTS_MAX_AGE_MS: 3_600_000, TEST_CONCURRENCY: 300 };
    @Module({ imports: [MessagingModule.forService('transport-test', config)], controllers: [TestHandlers] })
    class TestModule {}
    app = await bootstrapService({ service: 'transport-test', module: TestModule, host: '127.0.0.1', logLevel: process.env.TRELLIS_TEST_LOG_LEVEL ?? 'error' });
    quietLogs();
    nc = await connect('transport-test-client');
    publisher = new EventPublisher(nc, { source: 'trellis/test' });
    rpc = new RpcClient(nc, ns, { timeoutMs: 5_000 });
  });

  afterAll(async () => {
    await app?.close();
    await deleteNamespace(nc, ns);
    await nc.close();
    await shutdownTelemetry();
  });

  const publish = (n: number, outcome: Job['outcome']) => publisher.publish(Job, { n, outcome }, { subject: s.event('transport', 'job', `run${n}`) });

  it('creates the durable on the subject derived from the contract, with the settings from the config', async () => {
    const info = await (await jetstreamManager(nc)).consumers.info(s.streams.events, 'transport-test-job');
    expect(info.config.filter_subject).toBe(s.eventsOfType('transport', 'job'));
    // 4 × the concurrency the config sets (300), above the 1024 floor.
    expect(info.config.max_ack_pending).toBe(1200);
  });

  it('redelivers after a retryable error’s own delay, not Nest’s generic error', async () => {
    await publish(1, 'retry');
    // The consumer's backoff is a minute: a redelivery within seconds means the error's retryAfterMs reached the runner.
    await waitFor(() => seen.deliveries.get(1)?.length === 2, { what: 'the redelivery', timeoutMs: 5_000 });
    expect(seen.deliveries.get(1)).toEqual([1, 2]);
  });

  it('dead-letters a non-retryable error at once and calls the @OnDeadLetter handler with its reason', async () => {
    await publish(2, 'fail');
    await waitFor(() => seen.deadLetters.length === 1, { what: 'the dead letter' });
    expect(seen.deliveries.get(2)).toEqual([1]);
    expect(seen.deadLetters[0]).toMatchObject({ reason: expect.stringContaining('cannot ever'), deliveryCount: 1, data: { n: 2, outcome: 'fail' } });
  });

  it('serves RPC methods: validated requests, DomainError codes as error replies', async () => {
    expect(await rpc.call(Echo, { text: 'hi' })).toEqual({ echoed: 'hi' });
    const invalid = await rpc.call(Echo, { text: '' }).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(RpcCallError);
    expect((invalid as RpcCallError).code).toBe('invalid_argument');
    const missing = await rpc.call(Missing, {}).catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 'not_found', message: 'nothing here' });
  });

  it('drains on shutdown: a handler in flight finishes and is acked before NATS closes', async () => {
    await publish(3, 'slow');
    await waitFor(() => seen.slowStarted, { what: 'the slow handler' });
    const closing = app!.close();
    app = undefined;
    setTimeout(() => seen.slow.open(), 300);
    await closing;
    expect(seen.slowFinished).toBe(true);
    const info = await (await jetstreamManager(nc)).consumers.info(s.streams.events, 'transport-test-job');
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_pending).toBe(0);
  });
});
