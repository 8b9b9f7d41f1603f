import { Global, Inject, Injectable, Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { OutboxRelay, type NatsConnection } from '@trellis/messaging';
import { Database, OutboxMessageSchema, PgOutboxStore, type DatabaseOptions } from '@trellis/persistence';
import { HealthChecks } from './health';
import { NATS } from './tokens';

@Injectable()
class DatabaseLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    private readonly db: Database,
    private readonly relay: OutboxRelay,
  ) {}

  /** Rows a previous process committed but never published leave now. */
  onApplicationBootstrap(): void {
    this.relay.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.relay.stop();
    await this.db.close();
  }
}

/**
 * PostgreSQL for a service that owns a schema: the database (migrated at start), its
 * readiness check, and the outbox relay publishing what its transactions committed.
 */
@Global()
@Module({})
export class DatabaseModule {
  static forRoot(options: Omit<DatabaseOptions, 'entities'> & { entities: DatabaseOptions['entities'] }): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [
        {
          provide: Database,
          inject: [HealthChecks],
          useFactory: async (health: HealthChecks) => {
            const db = await Database.open({ ...options, entities: [...options.entities, OutboxMessageSchema] });
            health.register('postgres', () => db.ping());
            return db;
          },
        },
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
        DatabaseLifecycle,
      ],
      exports: [Database, OutboxRelay],
    };
  }
}
