/**
 * A message as the outbox holds it: encoded, addressed and ready to publish. The planner
 * writes it in the transaction of the change it announces (libs/persistence stores it), the
 * relay publishes it (libs/messaging); this is the one shape both meet in.
 */
export interface OutboxRow {
  /** Becomes the `Nats-Msg-Id`: the message id (`messageIds`), so a republish is dropped by the stream's dedupe window. */
  id: string;
  subject: string;
  /** The encoded CloudEvent (JSON text). */
  body: string;
  headers?: Record<string, string>;
}
