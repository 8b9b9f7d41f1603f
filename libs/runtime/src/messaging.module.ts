import { Global, Inject, Injectable, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { connectNats, drainNats, EventPublisher, provisionStreams, RpcClient, type NatsConnection } from '@trellis/messaging';
import { logger } from '@trellis/telemetry';
import { HealthChecks } from './health';
import { JetStreamServer } from './jetstream.server';
import { MESSAGING_OPTIONS, NATS, type MessagingOptions } from './tokens';
import { RuntimeModule } from './runtime.module';

@Injectable()
class NatsLifecycle implements OnApplicationShutdown {
  constructor(@Inject(NATS) private readonly nc: NatsConnection) {}
  async onApplicationShutdown(): Promise<void> {
    await drainNats(this.nc).catch((err) => logger('nats').warn({ err }, 'drain failed'));
  }
}

/**
 * NATS for a service: one connection (streams provisioned idempotently at start), the RPC
 * client, the event publisher and the JetStream transport hosting the service's `@OnEvent` /
 * `@OnRpc` handlers, all closed in order on shutdown (handlers drain first, NATS last).
 */
@Global()
@Module({})
export class MessagingModule {
  /**
   * NATS, health and readiness for one service, from the variables every service reads. The
   * whole config is kept for the consumer settings that `@OnEvent` derives from it.
   */
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
      config,
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
        JetStreamServer,
        NatsLifecycle,
      ],
      exports: [NATS, MESSAGING_OPTIONS, RpcClient, EventPublisher, JetStreamServer],
    };
  }
}
