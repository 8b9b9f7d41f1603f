import {
  Global,
  Inject,
  Injectable,
  Module,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type OnApplicationShutdown,
} from '@nestjs/common';
import {
  connectNats,
  drainNats,
  ensureConsumer,
  EventPublisher,
  provisionStreams,
  RpcClient,
  startConsumer,
  type ConsumerHandle,
  type ConsumerOptions,
  type NatsConnection,
} from '@trellis/messaging';
import { subjects, type EventContract } from '@trellis/contracts';
import { logger } from '@trellis/telemetry';
import { HealthChecks } from './health';
import { MESSAGING_OPTIONS, NATS, type MessagingOptions } from './tokens';
import { RpcHost } from './rpc-host';
import { RuntimeModule } from './runtime.module';

export interface ConsumerSpec<C extends EventContract> extends Omit<ConsumerOptions<C>, 'nc' | 'stream' | 'durable'> {
  stream: 'events' | 'work';
  durable: string;
  filterSubject: string;
}

/**
 * Starts the service's durable consumers and stops them first on shutdown: no new pulls,
 * in-flight handlers get the grace period, the rest is handed back to the queue.
 */
@Injectable()
export class ConsumerHost implements BeforeApplicationShutdown {
  private readonly running: ConsumerHandle[] = [];

  constructor(
    @Inject(NATS) private readonly nc: NatsConnection,
    @Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions,
    private readonly health: HealthChecks,
  ) {}

  async start<C extends EventContract>(spec: ConsumerSpec<C>): Promise<void> {
    const stream = subjects(this.options.namespace).streams[spec.stream];
    await ensureConsumer(this.nc, {
      stream,
      durable: spec.durable,
      filterSubject: spec.filterSubject,
      ackWaitMs: spec.ackWaitMs ?? 30_000,
      maxAckPending: Math.max(1024, (spec.concurrency ?? 16) * 4),
    });
    const { filterSubject: _filter, stream: _stream, ...rest } = spec;
    this.running.push(startConsumer({ ...rest, nc: this.nc, stream, durable: spec.durable } as ConsumerOptions<C>));
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.health.markDraining();
    await Promise.all(this.running.map((c) => c.stop({ graceMs: this.options.shutdownGraceMs })));
  }
}

@Injectable()
class NatsLifecycle implements OnApplicationShutdown {
  constructor(@Inject(NATS) private readonly nc: NatsConnection) {}
  async onApplicationShutdown(): Promise<void> {
    await drainNats(this.nc).catch((err) => logger('nats').warn({ err }, 'drain failed'));
  }
}

/**
 * NATS for a service: one connection (streams provisioned idempotently at start), the RPC
 * client, the event publisher and the consumer host, all closed in order on shutdown.
 */
@Global()
@Module({})
export class MessagingModule {
  /** NATS, health and readiness for one service, from the variables every service reads. */
  static forService(
    service: string,
    config: { NATS_URL: string[]; TRELLIS_NAMESPACE: string; SHUTDOWN_GRACE_MS: number; NATS_STREAM_REPLICAS: number; TRELLIS_EVENTS_MAX_AGE_MS: number },
    extra: Pick<MessagingOptions, 'rpcTimeoutMs'> = {},
  ): DynamicModule {
    return MessagingModule.forRoot({
      servers: config.NATS_URL,
      service,
      namespace: config.TRELLIS_NAMESPACE,
      shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
      streams: { replicas: config.NATS_STREAM_REPLICAS, eventsMaxAgeMs: config.TRELLIS_EVENTS_MAX_AGE_MS },
      ...extra,
    });
  }

  static forRoot(options: MessagingOptions): DynamicModule {
    return {
      module: MessagingModule,
      imports: [RuntimeModule],
      providers: [
        { provide: MESSAGING_OPTIONS, useValue: options },
        {
          provide: NATS,
          inject: [HealthChecks],
          useFactory: async (health: HealthChecks) => {
            const nc = await connectNats({ servers: options.servers, name: `trellis-${options.service}` });
            await provisionStreams(nc, options.namespace, options.streams);
            health.register('nats', () => !nc.isClosed() && !nc.isDraining() && nc.flush().then(() => true));
            return nc;
          },
        },
        {
          provide: RpcClient,
          inject: [NATS],
          useFactory: (nc: NatsConnection) => new RpcClient(nc, options.namespace, { timeoutMs: options.rpcTimeoutMs ?? 10_000 }),
        },
        { provide: EventPublisher, inject: [NATS], useFactory: (nc: NatsConnection) => new EventPublisher(nc, { source: `trellis/${options.service}` }) },
        ConsumerHost,
        RpcHost,
        NatsLifecycle,
      ],
      exports: [NATS, MESSAGING_OPTIONS, RpcClient, EventPublisher, ConsumerHost, RpcHost],
    };
  }
}
