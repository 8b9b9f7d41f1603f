import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { NatsConnection } from '@nats-io/transport-node';
import { headers as createHeaders } from '@nats-io/transport-node';
import type { PubAck } from '@nats-io/jetstream';
import type { EventContract } from '@trellis/contracts';
import { SpanKind, injectTraceContext, withSpan } from '@trellis/telemetry';
import { encodeEvent } from './event-encoding';
import { CLOUDEVENTS_CONTENT_TYPE, headerCarrier, toMsgHdrs } from './headers';
import { JetStreamPublisher } from './jetstream-publisher';

/** Where one event goes and, optionally, its fixed id and time. */
export interface PublishEventOptions {
  /** The NATS subject, from `subjects(ns)` (e.g. `event('step', 'generated', runId)`). */
  subject: string;
  /** Event id and `Nats-Msg-Id`; default a new UUID. Pass a stable id to make retries idempotent. */
  id?: string;
  time?: Date | string;
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

  constructor(
    nc: NatsConnection,
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
    return withSpan(
      `${contract.type} publish`,
      {
        kind: SpanKind.PRODUCER,
        attributes: { 'messaging.system': 'nats', 'messaging.destination.name': options.subject, 'messaging.message.id': event.id, 'cloudevents.event_type': contract.type },
      },
      async () => {
        const h = createHeaders();
        h.set('Content-Type', CLOUDEVENTS_CONTENT_TYPE);
        injectTraceContext(headerCarrier(h)!);
        return this.js.publish(options.subject, event.body, { msgId: event.id, headers: h });
      },
    );
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
