import { Migration } from '@trellis/persistence';

/** The registry publishes nothing through an outbox: the table its first migration made goes. */
export class RegistryNoOutbox extends Migration {
  override name = 'RegistryNoOutbox';

  override up(): void {
    this.addSql(`drop table if exists "registry"."outbox";`);
  }
}
