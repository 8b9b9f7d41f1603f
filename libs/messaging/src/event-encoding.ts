import type { z } from 'zod';
import { CloudEventEnvelope, type EventContract, type EventData } from '@trellis/contracts';
import { NonRetryableError } from './errors';
import { formatIssues, toIssues } from './issues';

const encoder = new TextEncoder();
// fatal: a body that is not UTF-8 is rejected rather than decoded into replacement characters.
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The envelope attributes a producer chooses. */
export interface EncodeEventOptions {
  /** The event id; also the `Nats-Msg-Id`, so it must be stable across retries of one publish. */
  id: string;
  /** CloudEvents `source`: who produced it, e.g. `trellis/planner`. */
  source: string;
  /** When it happened; default now. */
  time?: Date | string;
  /** CloudEvents `subject`: what it is about within the source (e.g. the run id). Optional. */
  subject?: string;
}

/** A ready-made CloudEvents payload: what an outbox row stores. */
export interface EncodedEvent {
  id: string;
  type: string;
  /** The structured-mode JSON envelope, UTF-8. */
  body: Uint8Array;
  /** The same envelope as text, for stores with a text column. */
  text: string;
}

/**
 * Validates `data` against the contract and builds the CloudEvents 1.0 structured JSON
 * envelope (type = the contract's type). Pure: no I/O, so the planner can build payloads
 * inside its transaction and hand them to the outbox. Throws a {@link NonRetryableError}
 * (code `invalid_event`) listing every issue when the data does not fit the contract:
 * publishing it would only dead-letter it at every consumer.
 */
export function encodeEvent<C extends EventContract>(contract: C, data: z.input<C['data']>, options: EncodeEventOptions): EncodedEvent {
  const parsed = contract.data.safeParse(data);
  if (!parsed.success) {
    throw new NonRetryableError(`event data does not match ${contract.type}: ${formatIssues(toIssues(parsed.error))}`, { code: 'invalid_event' });
  }
  return envelopeOf(contract, parsed.data, options);
}

/**
 * Builds the envelope of data the caller built itself from data it had validated (the
 * planner's engine decisions), without validating it again: validation happens once, where a
 * message enters a process (`decodeEvent`). The type still ties `data` to the contract.
 */
export function encodeBuilt<C extends EventContract>(contract: C, data: z.infer<C['data']>, options: EncodeEventOptions): EncodedEvent {
  return envelopeOf(contract, data, options);
}

function envelopeOf(contract: EventContract, data: unknown, options: EncodeEventOptions): EncodedEvent {
  const time = options.time === undefined ? new Date().toISOString() : typeof options.time === 'string' ? options.time : options.time.toISOString();
  const envelope: CloudEventEnvelope = {
    specversion: '1.0',
    id: options.id,
    source: options.source,
    type: contract.type,
    ...(options.subject === undefined ? {} : { subject: options.subject }),
    time,
    datacontenttype: 'application/json',
    data,
  };
  const text = JSON.stringify(envelope);
  return { id: options.id, type: contract.type, body: encoder.encode(text), text };
}

/** A message body that parsed: the envelope, the contract its type names, and the typed data. */
export interface DecodedEvent<C extends EventContract = EventContract> {
  ok: true;
  envelope: CloudEventEnvelope;
  contract: C;
  data: EventData<C>;
}

/** A message body that did not parse; `reason` says why, listing every zod issue. */
export interface UndecodableEvent {
  ok: false;
  reason: string;
  /** Present when the envelope parsed but its type or data did not fit. */
  envelope?: CloudEventEnvelope;
}

/**
 * Parses a message body: UTF-8 JSON, then the CloudEvents envelope, then the data against
 * the contract registered for the envelope's type. Never throws.
 */
export function decodeEvent<C extends EventContract>(body: Uint8Array, contracts: ReadonlyMap<string, C>): DecodedEvent<C> | UndecodableEvent {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(body));
  } catch (err) {
    return { ok: false, reason: `invalid JSON: ${(err as Error).message}` };
  }
  const envelope = CloudEventEnvelope.safeParse(json);
  if (!envelope.success) {
    return { ok: false, reason: `invalid CloudEvents envelope: ${formatIssues(toIssues(envelope.error))}` };
  }
  const contract = contracts.get(envelope.data.type);
  if (!contract) {
    return { ok: false, reason: `unexpected event type ${envelope.data.type} (this consumer handles ${[...contracts.keys()].join(', ')})`, envelope: envelope.data };
  }
  const data = contract.data.safeParse(envelope.data.data);
  if (!data.success) {
    return { ok: false, reason: `invalid data for ${contract.type}: ${formatIssues(toIssues(data.error))}`, envelope: envelope.data };
  }
  return { ok: true, envelope: envelope.data, contract, data: data.data as EventData<C> };
}
