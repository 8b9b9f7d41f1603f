import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { NatsConnection } from '@nats-io/transport-node';
import { headers as createHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager, type PubAck } from '@nats-io/jetstream';
import type { EventContract } from '@trellis/contracts';
import { SpanKind, injectTraceContext, withSpan } from '@trellis/telemetry';
import { encodeEvent } from './event-encoding';
import { CLOUDEVENTS_CONTENT_TYPE, headerCarrier, toMsgHdrs } from './headers';
import { HANDOFF_DONE } from './handoff';
import { JetStreamPublisher } from './jetstream-publisher';

/** Where one event goes and, optionally, its fixed id and time. */
export interface PublishEventOptions {
  /** The NATS subject, from `subjects(ns)` (e.g. `event('step', 'generated', runId)`). */
  subject: string;
  /** Event id and `Nats-Msg-Id`; default a new UUID. Pass a stable id to make retries idempotent. */
  id?: string;
  time?: Date | string;
}

/** Where an event that is also another service's work goes (`publishAndHandOff`). */
export interface HandOffOptions extends PublishEventOptions {
  /** The work queue the event is for, e.g. `subjects(ns).resultWork('generated')`. */
  queue: string;
  /** `subjects(ns).handoff(queue)`: where the queue's consumers take it directly. */
  handoff: string;
  /** How long to wait for a consumer's answer before queuing the event. Default 10000 ms. */
  handoffTimeoutMs?: number;
}

/** A pre-encoded body to publish as is. */
export interface PublishRawOptions {
  /** `Nats-Msg-Id`: JetStream drops a second message with the same id inside the dedupe window. */
  msgId: string;
  headers?: Readonly<Record<string, string>>;
  /** How long to wait for the stream's ack. Default 5000 ms. */
  timeoutMs?: number;
}

/**
 * Publishes CloudEvents to JetStream, for producers that do not need the outbox (a service
 * that owns no state: executor, verifier). The planner, whose events announce committed
 * state, writes {@link encodeEvent} payloads to its outbox instead.
 */
export class EventPublisher {
  private readonly js: JetStreamPublisher;
  private jsm: Promise<JetStreamManager> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: { source: string },
  ) {
    this.js = new JetStreamPublisher(nc);
  }

  /**
   * Validates `data`, wraps it in a CloudEvents envelope (type = `contract.type`) and
   * publishes it with `Nats-Msg-Id` = event id and the current trace context in the headers
   * (a PRODUCER span, so the consumer's span becomes its child). Resolves with the stream's
   * ack (`duplicate: true` when the id was already stored).
   */
  async publish<C extends EventContract>(contract: C, data: z.input<C['data']>, options: PublishEventOptions): Promise<PubAck> {
    const event = encodeEvent(contract, data, { id: options.id ?? randomUUID(), source: this.options.source, time: options.time });
    return this.publishEncoded(contract, event, options.subject);
  }

  /**
   * An event that is also another service's work (a step result is the planner's, ADR 0017):
   * published as `publish` does, for everyone who follows the events; then handed to the
   * queue's consumers directly, and published to the queue only when none took it. Resolves
   * once the event is stored and its work is done (`handed`) or queued (`queued`).
   *
   * When the stream already held the id (a redelivered producer publishing again), the
   * stored event, not this one, is what is handed over: what the events say and what the
   * consumer applies stay the same message.
   */
  async publishAndHandOff<C extends EventContract>(contract: C, data: z.input<C['data']>, options: HandOffOptions): Promise<'handed' | 'queued'> {
    const encoded = encodeEvent(contract, data, { id: options.id ?? randomUUID(), source: this.options.source, time: options.time });
    const ack = await this.publishEncoded(contract, encoded, options.subject);
    const body = ack.duplicate ? await this.stored(ack, encoded.body) : encoded.body;
    const answer = await this.js.offer(options.handoff, body, { headers: eventHeaders(), timeoutMs: options.handoffTimeoutMs ?? 10_000 });
    if (answer === HANDOFF_DONE) return 'handed';
    await this.js.publish(options.queue, body, { msgId: encoded.id, headers: eventHeaders() });
    return 'queued';
  }

  private publishEncoded(contract: EventContract, event: { id: string; body: Uint8Array }, subject: string): Promise<PubAck> {
    return withSpan(
      `${contract.type} publish`,
      {
        kind: SpanKind.PRODUCER,
        attributes: { 'messaging.system': 'nats', 'messaging.destination.name': subject, 'messaging.message.id': event.id, 'cloudevents.event_type': contract.type },
      },
      () => this.js.publish(subject, event.body, { msgId: event.id, headers: eventHeaders() }),
    );
  }

  /** The body the stream holds under a duplicate's ack: the first publish of that id (this one's if it is gone). */
  private async stored(ack: PubAck, fallback: Uint8Array): Promise<Uint8Array> {
    this.jsm ??= jetstreamManager(this.nc, { checkAPI: false });
    const stored = await (await this.jsm).streams.getMessage(ack.stream, { seq: ack.seq });
    return stored?.data ?? fallback;
  }

  /** Publishes a ready-made body (an outbox row) with the given `Nats-Msg-Id` and headers, as is. */
  async publishRaw(subject: string, body: Uint8Array | string, options: PublishRawOptions): Promise<PubAck> {
    const h = toMsgHdrs(options.headers);
    return this.js.publish(subject, body, {
      msgId: options.msgId,
      ...(h ? { headers: h } : {}),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
  }
}

/** A CloudEvent's NATS headers: its content type and the active trace context. */
function eventHeaders(): MsgHdrs {
  const h = createHeaders();
  h.set('Content-Type', CLOUDEVENTS_CONTENT_TYPE);
  injectTraceContext(headerCarrier(h)!);
  return h;
}
