import { Global, Injectable, Module, Optional, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { OutboxRelay, type NatsConnection } from '@trellis/messaging';
import { Database, PgOutboxStore, type DatabaseOptions } from '@trellis/persistence';
import { HealthChecks } from './health';
import { NATS } from './tokens';

@Injectable()
class DatabaseLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    private readonly db: Database,
    @Optional() private readonly relay?: OutboxRelay,
  ) {}

  /** Rows a previous process committed but never published leave now. */
  onApplicationBootstrap(): void {
    this.relay?.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.relay?.stop();
    await this.db.close();
  }
}

/** What a service's database module holds. */
export interface DatabaseModuleOptions extends DatabaseOptions {
  /**
   * The service publishes through an outbox table (its migrations create it,
   * `outboxTableSql`): an `OutboxRelay` publishes what its transactions commit and polls for
   * rows another process left. Only a service that writes outbox rows sets it: a relay over a
   * table nobody writes would poll it for nothing.
   */
  outbox?: boolean;
}

/**
 * PostgreSQL for a service that owns a schema: the database (migrated at start), its
 * readiness check and, with `outbox`, the relay publishing what its transactions committed.
 */
@Global()
@Module({})
export class DatabaseModule {
  static forRoot({ outbox = false, ...options }: DatabaseModuleOptions): DynamicModule {
    const relay: Provider[] = outbox
      ? [
          {
            provide: OutboxRelay,
            inject: [NATS, Database],
            useFactory: (nc: NatsConnection, db: Database) => {
              // Every commit's rows are published straight after it, from memory (ADR 0007);
              // claiming passes only run on the poll, for rows another process left behind.
              const store = new PgOutboxStore(db);
              const relay = new OutboxRelay(nc, store, { kickClaims: false });
              store.watchCommits((rows) => relay.publishCommitted(rows));
              return relay;
            },
          },
        ]
      : [];
    return {
      module: DatabaseModule,
      providers: [
        {
          provide: Database,
          inject: [HealthChecks],
          useFactory: async (health: HealthChecks) => {
            const db = await Database.open(options);
            health.register('postgres', () => db.ping());
            return db;
          },
        },
        ...relay,
        DatabaseLifecycle,
      ],
      exports: [Database, ...(outbox ? [OutboxRelay] : [])],
    };
  }
}
