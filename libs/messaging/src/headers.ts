import { headers as createHeaders, Match, type MsgHdrs } from '@nats-io/transport-node';
import { injectTraceContext, type HeaderCarrier } from '@trellis/telemetry';

/** Header names Trellis puts on dead-lettered messages (the original body is kept as is). */
export const DeadLetterHeaders = {
  /** Why the message was dead-lettered: the parse error with every zod issue, or the handler's error. */
  reason: 'Trellis-Dlq-Reason',
  /** The subject the message was originally published on (replay target). */
  subject: 'Trellis-Dlq-Subject',
  /** The durable consumer that gave up on it. */
  consumer: 'Trellis-Dlq-Consumer',
  /** How many times it had been delivered to that consumer. */
  deliveries: 'Trellis-Dlq-Deliveries',
  /** The original stream and sequence, `<stream>:<seq>`, to find the original while it is retained. */
  origin: 'Trellis-Dlq-Origin',
} as const;

/** CloudEvents structured mode over NATS: the whole envelope is the body. */
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json';

/** Builds NATS headers from a plain record (the form stored in outbox rows). */
export function toMsgHdrs(record: Readonly<Record<string, string>> | undefined): MsgHdrs | undefined {
  if (!record) return undefined;
  const entries = Object.entries(record);
  if (!entries.length) return undefined;
  const h = createHeaders();
  for (const [key, value] of entries) h.set(key, value);
  return h;
}

/** Flattens NATS headers into a record (last value wins), as handlers see them. */
export function headersToRecord(h: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  for (const key of h.keys()) out[key] = h.last(key);
  return out;
}

/** A trace-context carrier over NATS headers; lookups ignore case, as HTTP-style headers should. */
export function headerCarrier(h: MsgHdrs | undefined): HeaderCarrier | undefined {
  if (!h) return undefined;
  return {
    get: (key) => (h.has(key, Match.IgnoreCase) ? h.get(key, Match.IgnoreCase) : undefined),
    set: (key, value) => h.set(key, value),
  };
}

/**
 * The active trace context (`traceparent`, `tracestate`) as a plain record. Store it with an
 * outbox row at commit time so the event, published later by the relay, continues the
 * trace of the request that caused it.
 */
export function traceHeaders(): Record<string, string> {
  const out: Record<string, string> = {};
  injectTraceContext({ get: (key) => out[key], set: (key, value) => void (out[key] = value) });
  return out;
}

/** Replaces characters a header value cannot carry (CR, LF) and caps its length. */
export function headerValue(text: string, max = 1024): string {
  const flat = text.replace(/[\r\n]+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
