import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { Server, type CustomTransportStrategy, type MessageHandler as NestHandler } from '@nestjs/microservices';
import {
  AdmissionRequested,
  ExperimentOutcome,
  ProductsRequested,
  StepFailed,
  StepGenerated,
  StepReady,
  StepVerified,
  subjects,
  VerifyRequested,
  type EventContract,
  type Subjects,
} from '@trellis/contracts';
import {
  ensureConsumer,
  RpcFailure,
  serveHandoff,
  serveRpc,
  startConsumer,
  type ConsumerHandle,
  type HandoffEndpoint,
  type DeadLetterInfo,
  type MessageContext,
  type NatsConnection,
  type RpcEndpoint,
} from '@trellis/messaging';
import { logger } from '@trellis/telemetry';
import { isObservable, lastValueFrom } from 'rxjs';
import { HealthChecks } from './health';
import { patterns, type ConsumerSettings, type HandlerExtras } from './handler-metadata';
import { DomainError } from '@trellis/contracts';
import { MESSAGING_OPTIONS, NATS, type MessagingOptions } from './tokens';

/**
 * `@nestjs/microservices`' extension point for our JetStream transport (ADR 0001). Handlers
 * declared with `@OnEvent` / `@OnDeadLetter` / `@OnRpc` in `@Controller()` classes are hosted
 * by the existing machinery: durable pull consumers run by the consumer runner (slot-bounded
 * pulls, in-progress acks, stall quarantine, ack / nak with delay / term + dead letter) and
 * request/reply by `serveRpc` (validation, error replies, SERVER span). Nest adds its pipes,
 * guards, interceptors and filters around the handler; the handler's error reaches the
 * runner as thrown (`PassErrorsToTransport`), so the settlement is decided as before.
 *
 * Shutdown drains first: `beforeApplicationShutdown` stops pulling and gives handlers in flight
 * the grace, before the database and NATS close in `onApplicationShutdown`. Nest closes the
 * microservice later still; `close` then finds nothing left to stop.
 */
@Injectable()
export class JetStreamServer extends Server implements CustomTransportStrategy, BeforeApplicationShutdown {
  /** Awaited by the runner: a handler's failure is the runner's to settle, not Nest's to log. */
  override readonly propagatesEventHandlerErrors = true;
  private readonly consumers: ConsumerHandle[] = [];
  private readonly endpoints: RpcEndpoint[] = [];
  private readonly handoffs: HandoffEndpoint[] = [];
  private readonly log = logger('messaging.transport');
  private stopped: Promise<void> | undefined;

  constructor(
    @Inject(NATS) private readonly nc: NatsConnection,
    @Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions,
    private readonly health: HealthChecks,
  ) {
    super();
  }

  /** Starts every consumer, then serves every RPC method, `ping` last: an answer to ping means every other method is served. */
  listen(callback: (err?: unknown) => void): void {
    this.start().then(
      () => callback(),
      (err: unknown) => callback(err),
    );
  }

  private async start(): Promise<void> {
    const handlers = [...this.messageHandlers.values()];
    const extrasOf = (h: NestHandler) => h.extras as HandlerExtras | undefined;
    // A dead-letter hook naming no consumer would never run: a typo must stop the start.
    const consumed = new Set(
      handlers.flatMap((h) => {
        const extras = extrasOf(h);
        return extras?.kind === 'event' ? [patterns.deadLetter(extras.options.durable)] : [];
      }),
    );
    for (const [pattern, h] of this.messageHandlers) {
      if (extrasOf(h)?.kind === 'dead-letter' && !consumed.has(pattern)) throw new Error(`${pattern}: no @OnEvent consumer has this durable`);
    }
    for (const handler of handlers) {
      const extras = extrasOf(handler);
      if (extras?.kind === 'event') await this.consume(extras, handler);
    }
    const rpcs = handlers.flatMap((h) => {
      const extras = extrasOf(h);
      return extras?.kind === 'rpc' ? [{ method: extras.method, handler: h }] : [];
    });
    rpcs.sort((a, b) => Number(a.method.method === 'ping') - Number(b.method.method === 'ping'));
    for (const { method, handler } of rpcs) {
      this.endpoints.push(
        serveRpc(this.nc, this.options.namespace, method, async (request, ctx) => {
          try {
            return await settled(handler(request, ctx));
          } catch (err) {
            if (err instanceof DomainError) throw new RpcFailure(err.code, err.message, err.issues);
            throw err;
          }
        }),
      );
    }
  }

  /** Creates (or reconciles) the durable consumer(s) of one `@OnEvent` handler and starts the runner on each. */
  private async consume(extras: Extract<HandlerExtras, { kind: 'event' }>, handler: NestHandler): Promise<void> {
    const { contract, options } = extras;
    const settings: ConsumerSettings = typeof options.settings === 'function' ? options.settings(this.options.config) : (options.settings ?? {});
    const { pools, ...runnerSettings } = settings;
    const s = subjects(this.options.namespace);
    const stream = s.streams[options.stream];
    const deadLetterHandler = this.messageHandlers.get(patterns.deadLetter(options.durable));
    const onDeadLetter = deadLetterHandler ? (info: DeadLetterInfo) => settled(deadLetterHandler(info)).then(() => undefined) : undefined;
    const targets = pools ? pools.map((pool) => ({ durable: `${options.durable}-${pool}`, filterSubject: filterSubject(s, contract, options.stream, pool) })) : [{ durable: options.durable, filterSubject: filterSubject(s, contract, options.stream) }];
    for (const { durable, filterSubject } of targets) {
      await ensureConsumer(this.nc, {
        stream,
        durable,
        filterSubject,
        ackWaitMs: runnerSettings.ackWaitMs ?? 30_000,
        maxAckPending: Math.max(1024, (runnerSettings.concurrency ?? 16) * 4),
      });
      this.consumers.push(
        startConsumer({
          ...runnerSettings,
          nc: this.nc,
          stream,
          durable,
          contract,
          handler: (data: unknown, ctx: MessageContext) => settled(handler(data, ctx)).then(() => undefined),
          ...(onDeadLetter ? { onDeadLetter } : {}),
        }),
      );
      if (options.handoff) {
        if (options.stream !== 'work') throw new Error(`${options.durable}: only a work queue is handed off`);
        this.handoffs.push(
          serveHandoff({
            nc: this.nc,
            subject: s.handoff(filterSubject),
            queue: durable,
            contract,
            concurrency: runnerSettings.concurrency ?? 16,
            handler: (data: unknown, ctx: MessageContext) => settled(handler(data, ctx)).then(() => undefined),
          }),
        );
      }
    }
  }

  /** Drains first (see the class comment): no new pulls or requests, handlers in flight get the grace. */
  async beforeApplicationShutdown(): Promise<void> {
    this.health.markDraining();
    await this.close();
  }

  close(): Promise<void> {
    this.stopped ??= Promise.all([
      ...this.handoffs.map((h) => h.stop({ graceMs: this.options.shutdownGraceMs })),
      ...this.consumers.map((c) => c.stop({ graceMs: this.options.shutdownGraceMs })),
      ...this.endpoints.map((e) => e.stop()),
    ]).then(() => this.log.debug('transport stopped'));
    return this.stopped;
  }

  on(): never {
    throw new Error('the JetStream transport reports no events');
  }

  unwrap<T>(): T {
    return this.nc as T;
  }
}

/**
 * A Nest handler's outcome as a promise: its value, or its error as thrown. Nest returns the
 * handler's own value (no interceptor) or an Observable (interceptors, or a filter's error).
 */
async function settled(result: unknown): Promise<unknown> {
  const value = await result;
  return isObservable(value) ? lastValueFrom(value, { defaultValue: undefined }) : value;
}

/** The one subject a consumer of `contract` reads on `stream`: events by their type, work by its queue. */
function filterSubject(s: Subjects, contract: EventContract, stream: 'events' | 'work', pool?: string): string {
  if (stream === 'events') return s.eventsOfType(contract.entity, contract.change);
  const queue = WORK_QUEUES.get(contract.type);
  if (!queue) throw new Error(`${contract.type} has no work queue`);
  if (contract.type === StepReady.type && pool === undefined) throw new Error(`${contract.type} is consumed per pool: give settings.pools`);
  return queue(s, pool ?? '');
}

const WORK_QUEUES = new Map<string, (s: Subjects, pool: string) => string>([
  [StepReady.type, (s, pool) => s.stepWork(pool)],
  [VerifyRequested.type, (s) => s.verifyWork],
  [ProductsRequested.type, (s) => s.productsWork],
  [AdmissionRequested.type, (s) => s.admissionWork],
  [ExperimentOutcome.type, (s) => s.experimentWork],
  [StepGenerated.type, (s) => s.resultWork('generated')],
  [StepVerified.type, (s) => s.resultWork('verified')],
  [StepFailed.type, (s) => s.resultWork('failed')],
]);
