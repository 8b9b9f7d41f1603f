import type { NatsConnection } from '@nats-io/transport-node';
import type { CloudEventEnvelope, EventContract, EventData } from '@trellis/contracts';
import type { DeadLetterInfo } from './dead-letter';

/** What a handler knows about the message besides its data. */
export interface MessageContext {
  /** The validated CloudEvents envelope (its `data` is the raw, unparsed data). */
  event: CloudEventEnvelope;
  subject: string;
  /** 1 on the first delivery. */
  deliveryCount: number;
  /** Aborted when the consumer stops before the handler finished; its message is handed back. */
  signal: AbortSignal;
  headers: Readonly<Record<string, string>>;
}

/** A message handler: resolve to ack; throw a `RetryableError` / `NonRetryableError` (or anything) to fail. */
export type MessageHandler<T> = (data: T, ctx: MessageContext) => Promise<void>;

/** Options of `ConsumerRunner` / `startConsumer`. Give `contract` or `contracts`, not both. */
export interface ConsumerOptions<C extends EventContract = EventContract> {
  nc: NatsConnection;
  stream: string;
  /** An existing durable pull consumer (see `ensureConsumer`). */
  durable: string;
  /** The one contract every message must fit. */
  contract?: C;
  /** Several contracts, chosen by the envelope's `type`. */
  contracts?: readonly C[];
  handler: MessageHandler<EventData<C>>;
  /**
   * A message whose subject the app already knows to be irrelevant is acked at once, without
   * decoding, validating or a span, and takes no handler slot. For a cheap check (a set
   * lookup), to spare the per-message cost on a stream where most messages are of no interest.
   */
  skip?: (subject: string) => boolean;
  /** Handlers in flight at most; the runner pulls only as many messages as it has free slots. Default 16. */
  concurrency?: number;
  /**
   * The consumer's ack wait, used to pace in-progress acks (every third of it). The value
   * configured on the server wins when it can be read. Default 30000.
   */
  ackWaitMs?: number;
  /** Deliveries before a failing message is dead-lettered. Default 5. */
  maxDeliver?: number;
  /** Redelivery delay by delivery count, ±20% jitter. Default [1000, 5000, 15000, 30000]. */
  backoffMs?: readonly number[];
  /** Called after a message was dead-lettered, e.g. to mark the step failed. If it throws, the message is redelivered and dead-lettered again. */
  onDeadLetter?: (info: DeadLetterInfo) => Promise<void>;
  /** For logs and span names. Default the durable name. */
  name?: string;
  /** The namespace for dead-letter subjects; default read from each message's subject. */
  namespace?: string;
  /** Lifetime of one pull request on the server. Default 30000 (a long poll, not a polling interval). */
  pullExpiresMs?: number;
}

/** A running consumer, as the app holds it. */
export interface ConsumerHandle {
  /** Resolves once bound to the consumer and pulling. */
  readonly ready: Promise<void>;
  /** Handlers running now. */
  readonly inFlight: number;
  /** Stops pulling, lets handlers finish within `graceMs`, hands the rest back. */
  stop(options?: { graceMs?: number }): Promise<void>;
}
