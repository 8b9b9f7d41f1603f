import { jetstream, type Consumer, type ConsumerMessages, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import { SpanStatusCode } from '@opentelemetry/api';
import type { EventContract } from '@trellis/contracts';
import { SpanKind, extractTraceContext, logger, withSpan, type Logger, type Span } from '@trellis/telemetry';
import type { ConsumerHandle, ConsumerOptions, MessageContext } from './consumer-options';
import { publishDeadLetter, type DeadLetterInfo } from './dead-letter';
import { JetStreamPublisher } from './jetstream-publisher';
import { decodeEvent } from './event-encoding';
import { headerCarrier, headersToRecord } from './headers';
import { DEFAULT_BACKOFF_MS, DEFAULT_MAX_DELIVER, backoffDelay, describeError, settleFailure, type RetryPolicy } from './retry-policy';
import { Wakeup } from './wakeup';

interface Job {
  readonly msg: JsMsg;
  readonly abort: AbortController;
  settled: boolean;
  heartbeat: NodeJS.Timeout | undefined;
}

type Settlement = 'ack' | 'term' | { nak: number };

/**
 * The one consumer runner (STYLE.md, "A message handler"). For each message of a durable
 * pull consumer it: acks at once a message whose subject the app's `skip` names; decodes
 * JSON, envelope and data (a body that does not fit is dead-lettered at once); opens a
 * CONSUMER span whose parent is the message's `traceparent`; runs the handler, sending
 * in-progress acks every ackWait/3 while it runs; then acks, naks with
 * the backoff (or the error's `retryAfterMs`), or dead-letters and terms (a
 * `NonRetryableError`, or past `maxDeliver`). A handler error never escapes.
 *
 * It pulls only as many messages as it has free handler slots, with long-lived pull
 * requests (no polling), so a busy replica leaves the queue to its peers instead of
 * buffering jobs in memory.
 */
export class ConsumerRunner<C extends EventContract = EventContract> implements ConsumerHandle {
  private readonly js: JetStreamClient;
  /** Dead letters' publishes (its reply subscription opens with the first). */
  private readonly publisher: JetStreamPublisher;
  private readonly log: Logger;
  private readonly name: string;
  private readonly contracts: ReadonlyMap<string, C>;
  private readonly concurrency: number;
  private readonly policy: RetryPolicy;
  private readonly pullExpiresMs: number;
  private heartbeatMs: number;
  private ackWaitMs: number;
  /** When the stall watch last ran: a gap longer than the ack wait means the process was frozen. */
  private lastTick = Date.now();
  /** When the watch last saw such a gap end. */
  private stallEndedAt = 0;
  private stallWatch: NodeJS.Timeout | undefined;
  private readonly jobs = new Map<Job, Promise<void>>();
  /** Rings when a handler slot frees up or the runner stops. */
  private readonly slotFreed = new Wakeup();
  /** Rings only when the runner stops: cuts a retry backoff short. */
  private readonly stopRequested = new Wakeup();
  /** Pulls open now, and the tasks dispatching their messages. */
  private readonly pulls = new Set<ConsumerMessages>();
  private readonly draining = new Set<Promise<void>>();
  /** Messages asked for by open pulls: free slots already spoken for. */
  private requested = 0;
  private pullFailures = 0;
  private backoffUntil = 0;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private markReady!: () => void;
  /** Resolves once the runner is bound to its consumer and pulling. */
  readonly ready: Promise<void> = new Promise<void>((resolve) => (this.markReady = resolve));

  /**
   * Binds to the consumer, then starts pulling; rejects (and pulls nothing) if the consumer
   * cannot be bound, e.g. does not exist. For start-up code that should fail fast.
   */
  static async start<C extends EventContract>(options: ConsumerOptions<C>): Promise<ConsumerRunner<C>> {
    const runner = new ConsumerRunner(options);
    const consumer = await runner.bind();
    runner.run(consumer);
    return runner;
  }

  constructor(private readonly options: ConsumerOptions<C>) {
    const list = options.contracts ?? (options.contract ? [options.contract] : []);
    if (!list.length || (options.contract && options.contracts)) {
      throw new Error('ConsumerRunner needs exactly one of `contract` or `contracts` (non-empty)');
    }
    this.contracts = new Map(list.map((c) => [c.type, c]));
    this.name = options.name ?? options.durable;
    this.concurrency = Math.max(1, options.concurrency ?? 16);
    this.policy = { maxDeliver: Math.max(1, options.maxDeliver ?? DEFAULT_MAX_DELIVER), backoffMs: options.backoffMs ?? DEFAULT_BACKOFF_MS };
    this.pullExpiresMs = Math.max(1_000, options.pullExpiresMs ?? 30_000);
    this.ackWaitMs = options.ackWaitMs ?? 30_000;
    this.heartbeatMs = heartbeatInterval(this.ackWaitMs);
    this.js = jetstream(options.nc);
    this.publisher = new JetStreamPublisher(options.nc);
    this.log = logger('messaging.consumer').child({ consumer: this.name, stream: options.stream, durable: options.durable });
  }

  /** Handlers running now. */
  get inFlight(): number {
    return this.jobs.size;
  }

  /**
   * Starts in the background: binds to the consumer (retrying with a backoff while it
   * cannot, e.g. before it is created), then pulls. `ready` resolves once bound.
   */
  run(consumer?: Consumer): void {
    if (this.loop) return;
    this.loop = (async () => {
      let bound = consumer;
      for (let failures = 1; !bound && !this.stopping; failures++) {
        try {
          bound = await this.bind();
        } catch (err) {
          this.log.warn({ err, failures }, 'cannot bind to the consumer yet; retrying');
          await this.stopRequested.wait(Math.min(5_000, 250 * 2 ** Math.min(failures, 5)));
        }
      }
      if (!bound) return;
      this.markReady();
      this.log.info({ concurrency: this.concurrency }, 'consumer started');
      await this.pullLoop(bound);
    })();
  }

  /** Looks the consumer up and checks its server-side settings against ours. */
  private async bind(): Promise<Consumer> {
    const consumer = await this.js.consumers.get(this.options.stream, this.options.durable);
    const { config } = await consumer.info(true);
    if (config.ack_wait) {
      const serverAckWaitMs = config.ack_wait / 1e6;
      if (this.options.ackWaitMs !== undefined && this.options.ackWaitMs !== serverAckWaitMs) {
        this.log.warn({ ackWaitMs: this.options.ackWaitMs, serverAckWaitMs }, 'ackWaitMs differs from the consumer on the server; pacing in-progress acks by the server value');
      }
      this.ackWaitMs = serverAckWaitMs;
      this.heartbeatMs = heartbeatInterval(serverAckWaitMs);
    }
    if (config.max_deliver !== undefined && config.max_deliver !== -1 && config.max_deliver <= this.policy.maxDeliver) {
      this.log.warn({ serverMaxDeliver: config.max_deliver, maxDeliver: this.policy.maxDeliver }, 'the server stops delivering before the runner can dead-letter; create the consumer with ensureConsumer (max_deliver -1)');
    }
    return consumer;
  }

  /**
   * Stops pulling, waits up to `graceMs` (default 10000) for handlers in flight, then aborts
   * the signal of those still running and hands their messages back (nak, redelivered at
   * once to another replica). Resolves when done; later calls return the same promise.
   */
  stop(options: { graceMs?: number } = {}): Promise<void> {
    this.stopped ??= this.shutdown(options.graceMs ?? 10_000);
    return this.stopped;
  }

  private async shutdown(graceMs: number): Promise<void> {
    this.stopping = true;
    clearInterval(this.stallWatch);
    for (const pull of this.pulls) pull.stop();
    this.slotFreed.notify();
    this.stopRequested.notify();
    await this.loop;
    await Promise.allSettled([...this.draining]);
    if (this.jobs.size) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled(this.jobs.values()), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
      let handedBack = 0;
      for (const job of this.jobs.keys()) {
        job.abort.abort(new Error('consumer stopping'));
        if (this.settle(job, { nak: 0 })) handedBack++;
      }
      if (handedBack) this.log.warn({ handedBack, graceMs }, 'handed unfinished messages back');
    }
    this.log.info('consumer stopped');
  }

  /**
   * Keeps every free handler slot asked for. A pull stays open on the server (long poll)
   * until filled or expired; slots that free up meanwhile are asked for by another pull, not
   * left idle until it ends, which on a queue shared by many replicas may be its full expiry.
   * The messages asked for never exceed the free slots. Small asks wait while a pull is open,
   * which bounds the pulls open at once to about five per runner.
   */
  private async pullLoop(consumer: Consumer): Promise<void> {
    const nc = this.options.nc;
    const minAsk = Math.max(1, Math.ceil(this.concurrency / 4));
    // The watch starts now: the time spent binding (retries included) is no stall.
    this.lastTick = Date.now();
    this.stallWatch = setInterval(() => {
      const now = Date.now();
      if (now - this.lastTick > this.ackWaitMs) this.stallEndedAt = now;
      this.lastTick = now;
    }, STALL_TICK_MS);
    this.stallWatch.unref();
    while (!this.stopping) {
      const free = this.concurrency - this.jobs.size - this.requested;
      if (free <= 0 || (this.requested > 0 && free < minAsk)) {
        await this.slotFreed.wait();
        continue;
      }
      if (nc.isClosed() || nc.isDraining()) {
        if (!this.stopping) this.log.warn('connection closing; consumer stops pulling');
        break;
      }
      const pause = this.backoffUntil - Date.now();
      if (pause > 0) {
        await this.stopRequested.wait(pause);
        continue;
      }
      this.requested += free;
      const drained = this.pull(consumer, free).finally(() => {
        this.draining.delete(drained);
        this.slotFreed.notify();
      });
      this.draining.add(drained);
      // The fetch request is on its way; let it reach the server before asking again.
      await this.slotFreed.wait();
    }
  }

  /** One pull for `asked` messages, dispatched as they come; gives back what it did not get. */
  private async pull(consumer: Consumer, asked: number): Promise<void> {
    const nc = this.options.nc;
    const startedAt = Date.now();
    let received = 0;
    let batch: ConsumerMessages | undefined;
    try {
      batch = await consumer.fetch({ max_messages: asked, expires: this.pullExpiresMs });
      this.pulls.add(batch);
      this.slotFreed.notify();
      if (this.stopping) batch.stop();
      for await (const msg of batch) {
        received++;
        this.requested--;
        this.dispatch(msg);
      }
      this.pullFailures = 0;
      // A pull that ends at once without messages (a server refusing it): back off instead of spinning.
      if (received === 0 && Date.now() - startedAt < 100) this.backoffUntil = Date.now() + 100 * 2 ** Math.min(++this.pullFailures, 6);
    } catch (err) {
      if (!(this.stopping || nc.isClosed() || nc.isDraining())) {
        this.pullFailures++;
        this.log.warn({ err, failures: this.pullFailures }, 'pull failed; retrying');
        this.backoffUntil = Date.now() + Math.min(5_000, 100 * 2 ** Math.min(this.pullFailures, 6));
      }
    } finally {
      if (batch) this.pulls.delete(batch);
      this.requested -= Math.max(0, asked - received);
    }
  }

  private dispatch(msg: JsMsg): void {
    if (this.stopping) {
      this.reply(msg, () => msg.nak());
      return;
    }
    if (this.afterStall()) {
      // The process was frozen (SIGSTOP, a paused VM, a stalled event loop) for longer than the
      // ack wait, and this message was read from the socket as it woke: the server may already
      // have handed it to another replica. Running it could repeat a side effect; leaving it
      // unsettled is safe: if nobody acks it, it comes back after the ack wait.
      this.log.warn({ subject: msg.subject, ackWaitMs: this.ackWaitMs }, 'message received on waking from a stall longer than the ack wait; left for redelivery');
      return;
    }
    if (this.skips(msg)) {
      this.reply(msg, () => msg.ack());
      return;
    }
    const job: Job = { msg, abort: new AbortController(), settled: false, heartbeat: undefined };
    // In-progress acks keep a long handler's message from being redelivered mid-work.
    job.heartbeat = setInterval(() => {
      if (!job.settled) this.reply(msg, () => msg.working());
    }, this.heartbeatMs);
    const done = this.process(job)
      .catch((err: unknown) => this.log.error({ err }, 'unexpected failure processing a message'))
      .finally(() => {
        // Safety net: a message left unsettled by a bug comes back after a backoff rather
        // than after the full ack wait.
        this.settle(job, { nak: backoffDelay(msg.info.deliveryCount, this.policy.backoffMs) });
        this.jobs.delete(job);
        this.slotFreed.notify();
      });
    this.jobs.set(job, done);
  }

  /**
   * Whether the process is waking from a stall longer than the ack wait: the watch has not
   * ticked for that long (the message was read before its timer ran), or it saw such a gap end
   * within the last second (the timer ran first).
   */
  private afterStall(): boolean {
    const now = Date.now();
    return now - this.lastTick > this.ackWaitMs || now - this.stallEndedAt < STALL_QUARANTINE_MS;
  }

  /** The app's `skip` verdict; one that throws would break the pull loop, so it means "handle it". */
  private skips(msg: JsMsg): boolean {
    const skip = this.options.skip;
    if (!skip) return false;
    try {
      return skip(msg.subject);
    } catch (err) {
      this.log.warn({ err, subject: msg.subject }, 'skip check failed; handling the message');
      return false;
    }
  }

  private async process(job: Job): Promise<void> {
    const { msg } = job;
    const deliveryCount = msg.info.deliveryCount;
    await withSpan(
      `${this.name} process`,
      {
        kind: SpanKind.CONSUMER,
        parent: extractTraceContext(headerCarrier(msg.headers)),
        attributes: {
          'messaging.system': 'nats',
          'messaging.destination.name': msg.subject,
          'messaging.consumer.group.name': this.options.durable,
          'messaging.nats.delivery_count': deliveryCount,
        },
      },
      async (span) => {
        const decoded = decodeEvent(msg.data, this.contracts);
        if (!decoded.ok) {
          markFailed(span, decoded.reason);
          this.log.warn({ subject: msg.subject, reason: decoded.reason }, 'message does not fit the contract; dead-lettering');
          await this.deadLetter(job, decoded.reason, decoded.envelope ? { event: decoded.envelope } : {});
          return;
        }
        span.setAttribute('messaging.message.id', decoded.envelope.id);
        span.setAttribute('cloudevents.event_type', decoded.envelope.type);
        const ctx: MessageContext = {
          event: decoded.envelope,
          subject: msg.subject,
          deliveryCount,
          signal: job.abort.signal,
          headers: headersToRecord(msg.headers),
        };
        try {
          await this.options.handler(decoded.data, ctx);
        } catch (err) {
          span.recordException(err instanceof Error ? err : new Error(String(err)));
          markFailed(span, describeError(err));
          if (job.settled) {
            this.log.warn({ err, subject: msg.subject }, 'handler failed after its message was handed back');
            return;
          }
          const outcome = settleFailure(err, deliveryCount, this.policy);
          if (outcome.action === 'nak') {
            this.log.warn({ err, subject: msg.subject, eventId: decoded.envelope.id, deliveryCount, delayMs: outcome.delayMs }, 'handler failed; will redeliver');
            this.settle(job, { nak: outcome.delayMs });
          } else {
            this.log.warn({ err, subject: msg.subject, eventId: decoded.envelope.id, deliveryCount, reason: outcome.reason }, 'handler failed for good; dead-lettering');
            await this.deadLetter(job, outcome.reason, { event: decoded.envelope, data: decoded.data });
          }
          return;
        }
        if (!this.settle(job, 'ack')) this.log.warn({ subject: msg.subject }, 'handler finished after its message was handed back');
      },
    );
  }

  /** Dead-letter, tell the app, then term; if any step fails, redeliver later and do it again. */
  private async deadLetter(job: Job, reason: string, extra: Pick<DeadLetterInfo, 'event' | 'data'>): Promise<void> {
    const { msg } = job;
    try {
      await publishDeadLetter(this.publisher, msg, { consumer: this.options.durable, reason, ...(this.options.namespace ? { namespace: this.options.namespace } : {}) });
      const onDeadLetter = this.options.onDeadLetter;
      if (onDeadLetter) {
        const info: DeadLetterInfo = { subject: msg.subject, reason, deliveryCount: msg.info.deliveryCount, ...extra };
        await onDeadLetter(info);
      }
      // No reason argument to term(): NATS 2.9 only understands a bare +TERM.
      this.settle(job, 'term');
    } catch (err) {
      const delayMs = backoffDelay(msg.info.deliveryCount, this.policy.backoffMs);
      this.log.error({ err, subject: msg.subject, delayMs }, 'dead-lettering failed; will redeliver and try again');
      this.settle(job, { nak: delayMs });
    }
  }

  /** Settles a message once; false if it was already settled (e.g. handed back by stop). */
  private settle(job: Job, how: Settlement): boolean {
    if (job.settled) return false;
    job.settled = true;
    clearInterval(job.heartbeat);
    const { msg } = job;
    if (how === 'ack') this.reply(msg, () => msg.ack());
    else if (how === 'term') this.reply(msg, () => msg.term());
    else this.reply(msg, () => msg.nak(how.nak));
    return true;
  }

  /**
   * Sends an ack-protocol reply. It throws once the connection is closed; the server will
   * redeliver after the ack wait anyway, so log rather than let a timer callback crash the process.
   */
  private reply(msg: JsMsg, send: () => void): void {
    try {
      send();
    } catch (err) {
      this.log.warn({ err, subject: msg.subject }, 'could not reply to the server; the message will be redelivered after its ack wait');
    }
  }
}

/**
 * Starts a {@link ConsumerRunner} in the background and returns it at once (bind retries
 * until the consumer exists; `ready` resolves when pulling). Use `ConsumerRunner.start` to
 * fail fast instead.
 */
export function startConsumer<C extends EventContract>(options: ConsumerOptions<C>): ConsumerRunner<C> {
  const runner = new ConsumerRunner(options);
  runner.run();
  return runner;
}

/** How often the stall watch ticks; a stall is a gap between ticks longer than the ack wait. */
const STALL_TICK_MS = 100;
/** How long after a stall messages are left for redelivery: what was buffered is read at once on waking. */
const STALL_QUARANTINE_MS = 1_000;

function heartbeatInterval(ackWaitMs: number): number {
  return Math.max(100, Math.floor(ackWaitMs / 3));
}

function markFailed(span: Span, message: string): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}
