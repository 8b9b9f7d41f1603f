import { randomBytes } from 'node:crypto';
import { ROOT_CONTEXT, context, trace } from '@opentelemetry/api';
import { z } from 'zod';
import { defineEvent, subjects } from '@trellis/contracts';
import { EventPublisher, NonRetryableError, deleteNamespace, provisionStreams, type NatsConnection } from '@trellis/messaging';
import { shutdownTelemetry, startTelemetry } from '@trellis/telemetry';
import { JetStreamPublisher } from '../src/jetstream-publisher';
import { connect, lastMessage, quietLogs, testNamespace } from './nats-test-kit';

const RunPinged = defineEvent('run', 'pinged', z.object({ runId: z.string(), count: z.number().int() }));

describe('EventPublisher', () => {
  let nc: NatsConnection;
  const ns = testNamespace('tpub');
  const s = subjects(ns);

  beforeAll(async () => {
    startTelemetry('messaging-test', {});
    quietLogs();
    nc = await connect('messaging-publisher-test');
    await provisionStreams(nc, ns);
  });

  afterAll(async () => {
    await deleteNamespace(nc, ns);
    await nc.close();
    await shutdownTelemetry();
  });

  it('publishes a CloudEvent with the event id as Nats-Msg-Id and the trace context in the headers', async () => {
    const publisher = new EventPublisher(nc, { source: 'trellis/planner' });
    const subject = s.event('run', 'pinged', 'run-1');
    const traceId = randomBytes(16).toString('hex');
    const parent = trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: randomBytes(8).toString('hex'), traceFlags: 1 });

    const ack = await context.with(parent, () => publisher.publish(RunPinged, { runId: 'run-1', count: 1 }, { subject, id: 'evt-a', time: '2025-05-01T10:00:00.000Z' }));

    const stored = await lastMessage(nc, s.streams.events, subject);
    expect(ack).toMatchObject({ stream: s.streams.events, duplicate: false });
    expect(stored?.header.get('Nats-Msg-Id')).toBe('evt-a');
    expect(stored?.header.get('traceparent')).toContain(traceId);
    expect(stored?.header.get('Content-Type')).toBe('application/cloudevents+json');
    expect(JSON.parse(new TextDecoder().decode(stored?.data))).toEqual({
      specversion: '1.0',
      id: 'evt-a',
      source: 'trellis/planner',
      type: 'dev.trellis.run.pinged',
      time: '2025-05-01T10:00:00.000Z',
      datacontenttype: 'application/json',
      data: { runId: 'run-1', count: 1 },
    });
  });

  it('stores an event published twice with the same id once', async () => {
    const publisher = new EventPublisher(nc, { source: 'trellis/planner' });
    const subject = s.event('run', 'pinged', 'run-2');

    const first = await publisher.publish(RunPinged, { runId: 'run-2', count: 1 }, { subject, id: 'evt-b' });
    const second = await publisher.publish(RunPinged, { runId: 'run-2', count: 1 }, { subject, id: 'evt-b' });

    expect(first.duplicate).toBe(false);
    expect(second).toMatchObject({ duplicate: true, seq: first.seq });
  });

  it('refuses data that does not fit the contract before publishing', async () => {
    const publisher = new EventPublisher(nc, { source: 'trellis/planner' });

    await expect(publisher.publish(RunPinged, { runId: 'run-3', count: 'one' } as never, { subject: s.event('run', 'pinged', 'run-3') })).rejects.toThrow(NonRetryableError);
    expect(await lastMessage(nc, s.streams.events, s.event('run', 'pinged', 'run-3'))).toBeUndefined();
  });

  describe('its acks (JetStreamPublisher: one reply subscription, no request per publish)', () => {
    it('settles many publishes at once, each with its own sequence', async () => {
      const js = new JetStreamPublisher(nc);
      const acks = await Promise.all(Array.from({ length: 50 }, (_, i) => js.publish(s.event('run', 'pinged', 'run-many'), `{"i":${i}}`, { msgId: `many-${i}` })));
      expect(new Set(acks.map((a) => a.seq)).size).toBe(50);
      expect(acks.every((a) => a.stream === s.streams.events && !a.duplicate)).toBe(true);
    });

    it("rejects with the stream's error when the stream refuses the message", async () => {
      const js = new JetStreamPublisher(nc);
      const { headers } = await import('@nats-io/transport-node');
      const h = headers();
      h.set('Nats-Expected-Last-Sequence', '999999999');
      await expect(js.publish(s.event('run', 'pinged', 'run-refused'), '{}', { msgId: 'refused', headers: h })).rejects.toMatchObject({ name: 'JetStreamApiError' });
    });

    it('rejects when no stream captures the subject', async () => {
      const js = new JetStreamPublisher(nc);
      await expect(js.publish(`${ns}-nowhere.subject`, '{}', { msgId: 'nowhere' })).rejects.toThrow(/no stream captures/);
    });

    it('times out when nothing acknowledges', async () => {
      const js = new JetStreamPublisher(nc);
      // A plain subscriber takes the message and never answers: no stream, no "no responders".
      const silent = nc.subscribe(`${ns}-silent.subject`);
      try {
        await expect(js.publish(`${ns}-silent.subject`, '{}', { msgId: 'silent', timeoutMs: 200 })).rejects.toMatchObject({ name: 'TimeoutError' });
      } finally {
        silent.unsubscribe();
      }
    });
  });
});
