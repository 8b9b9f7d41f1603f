import { Migration } from '@trellis/persistence';

/** Whether a project's runs record their model and tool calls, for replays (ADR 0015); on for every existing project. */
export class GatewayRecording extends Migration {
  override name = 'GatewayRecording';

  override up(): void {
    this.addSql(`alter table "gateway"."project" add column "recording" boolean not null default true;`);
  }
}
