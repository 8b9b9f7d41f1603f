import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { EventContract, EventData } from '@trellis/contracts';
import { SpanKind, extractTraceContext, logger, withSpan } from '@trellis/telemetry';
import type { MessageContext } from './consumer-options';
import { decodeEvent } from './event-encoding';
import { headerCarrier, headersToRecord } from './headers';

/**
 * Direct hand-off (ADR 0017): a message for a work queue is first offered to the queue's
 * consumers as a core-NATS request on `subjects(ns).handoff(queue)`; one of them (a queue group)
 * handles it and answers {@link HANDOFF_DONE} once the work is done and durable. Any other
 * outcome — no consumer, a refusal, a failure, no answer in time — and the producer publishes
 * the message to the queue itself, where the durable consumer handles it with retries and
 * dead letters as it handles everything else. The handler is the same either way and must be
 * idempotent: a hand-off whose answer was lost is published to the queue and handled again.
 */
export const HANDOFF_DONE = 'done';

/** What a served hand-off answers when it took no part of the work (the producer queues the message). */
export const HANDOFF_DECLINED = { busy: 'busy', invalid: 'invalid', failed: 'failed' } as const;

export interface HandoffServerOptions<C extends EventContract> {
  nc: NatsConnection;
  /** `subjects(ns).handoff(queue)`. */
  subject: string;
  /** The queue group: the durable consumer's name, so each hand-off reaches one replica. */
  queue: string;
  contract: C;
  handler: (data: EventData<C>, ctx: MessageContext) => Promise<void>;
  /** Hand-offs handled at once; past it the producer is told to queue (default 16). */
  concurrency?: number;
}

/** A served hand-off subject, as the transport holds it. */
export interface HandoffEndpoint {
  /** Hand-offs being handled now. */
  readonly inFlight: number;
  /** Stops taking hand-offs (later ones find no consumer and are queued), waits up to `graceMs` for those in flight, then aborts them. */
  stop(options?: { graceMs?: number }): Promise<void>;
}

/** Serves the direct hand-off of one work queue's messages (see {@link HANDOFF_DONE}). */
export function serveHandoff<C extends EventContract>(options: HandoffServerOptions<C>): HandoffEndpoint {
  const log = logger('messaging.handoff');
  const contracts = new Map<string, C>([[options.contract.type, options.contract]]);
  const concurrency = options.concurrency ?? 16;
  const running = new Set<Promise<void>>();
  const lifetime = new AbortController();
  const answer = (msg: { respond(data: string): boolean }, text: string) => {
    // The requester may be gone (it timed out and queued the message): nothing to do.
    try {
      msg.respond(text);
    } catch (err) {
      log.debug({ err }, 'could not answer a hand-off');
    }
  };
  const subscription: Subscription = options.nc.subscribe(options.subject, {
    queue: options.queue,
    callback: (err, msg) => {
      if (err) {
        log.warn({ err, subject: options.subject }, 'hand-off subscription error');
        return;
      }
      if (running.size >= concurrency || lifetime.signal.aborted) return answer(msg, HANDOFF_DECLINED.busy);
      const decoded = decodeEvent(msg.data, contracts);
      // Not for us to judge here: queued, the consumer runner dead-letters it with the reason.
      if (!decoded.ok) return answer(msg, HANDOFF_DECLINED.invalid);
      const ctx: MessageContext = { event: decoded.envelope, subject: msg.subject, deliveryCount: 1, signal: lifetime.signal, headers: headersToRecord(msg.headers) };
      const done: Promise<void> = withSpan(
        `${options.queue} hand-off`,
        {
          kind: SpanKind.CONSUMER,
          parent: extractTraceContext(headerCarrier(msg.headers)),
          attributes: { 'messaging.system': 'nats', 'messaging.destination.name': msg.subject, 'messaging.message.id': decoded.envelope.id, 'cloudevents.event_type': decoded.envelope.type },
        },
        () => options.handler(decoded.data, ctx),
      ).then(
        () => answer(msg, HANDOFF_DONE),
        (e: unknown) => {
          // Retries, delays and dead letters are the queue's: the producer publishes it there.
          log.debug({ err: e, eventId: decoded.envelope.id }, 'hand-off failed; the producer queues it');
          answer(msg, HANDOFF_DECLINED.failed);
        },
      );
      running.add(done);
      void done.finally(() => running.delete(done));
    },
  });
  return {
    get inFlight() {
      return running.size;
    },
    async stop({ graceMs = 10_000 } = {}) {
      subscription.unsubscribe();
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
      await Promise.race([Promise.allSettled([...running]), grace]);
      clearTimeout(timer);
      lifetime.abort();
    },
  };
}
