import { Migration } from '@trellis/persistence';

/** The gateway publishes nothing through an outbox (it asks the planner over RPC): the table its first migration made goes. */
export class GatewayNoOutbox extends Migration {
  override name = 'GatewayNoOutbox';

  override up(): void {
    this.addSql(`drop table if exists "gateway"."outbox";`);
  }
}
