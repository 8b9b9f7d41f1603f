import { headers as createHeaders } from '@nats-io/transport-node';
import type { JsMsg, PubAck } from '@nats-io/jetstream';
import { messageIds, Namespace, subjects, type CloudEventEnvelope } from '@trellis/contracts';
import { DeadLetterHeaders, headerValue } from './headers';
import type { JetStreamPublisher } from './jetstream-publisher';

/** What `onDeadLetter` learns about a message the consumer gave up on. */
export interface DeadLetterInfo {
  /** The subject it was published on. */
  subject: string;
  reason: string;
  deliveryCount: number;
  /** The envelope, when the body parsed that far. */
  event?: CloudEventEnvelope;
  /** The validated data, when it validated (a handler failure, not a parse failure). */
  data?: unknown;
}

/** The namespace a Trellis subject belongs to (`trellis.<ns>.…`), if it is one. */
export function namespaceOfSubject(subject: string): string | undefined {
  const [root, ns] = subject.split('.');
  return root === 'trellis' && ns !== undefined && Namespace.safeParse(ns).success ? ns : undefined;
}

/**
 * Publishes the original body, untouched, to `subjects(ns).deadLetter(subject)` with the
 * reason and provenance in `Trellis-Dlq-*` headers. The original's own headers (trace
 * context) are kept, except the `Nats-*` ones the server would act on again. The Msg-Id is
 * derived from the original's stream position, so dead-lettering the same delivery twice
 * (crash before term, then redelivery) stores it once.
 */
export async function publishDeadLetter(
  js: JetStreamPublisher,
  msg: JsMsg,
  args: { consumer: string; reason: string; namespace?: string },
): Promise<PubAck> {
  const ns = args.namespace ?? namespaceOfSubject(msg.subject);
  if (!ns) throw new Error(`cannot dead-letter ${msg.subject}: not a trellis.<ns> subject and no namespace configured`);
  const h = createHeaders();
  for (const key of msg.headers?.keys() ?? []) {
    if (key.toLowerCase().startsWith('nats-')) continue;
    for (const value of msg.headers?.values(key) ?? []) h.append(key, value);
  }
  h.set(DeadLetterHeaders.reason, headerValue(args.reason));
  h.set(DeadLetterHeaders.subject, msg.subject);
  h.set(DeadLetterHeaders.consumer, args.consumer);
  h.set(DeadLetterHeaders.deliveries, String(msg.info.deliveryCount));
  h.set(DeadLetterHeaders.origin, `${msg.info.stream}:${msg.info.streamSequence}`);
  return js.publish(subjects(ns).deadLetter(msg.subject), msg.data, { msgId: messageIds.deadLetter(args.consumer, msg.info.stream, msg.info.streamSequence), headers: h });
}
