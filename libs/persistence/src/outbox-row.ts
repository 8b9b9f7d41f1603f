/** An outbox row as the relay publishes it (structurally the messaging lib's `OutboxRow`). */
export interface OutboxRow {
  id: string;
  subject: string;
  body: string;
  headers?: Record<string, string>;
}
