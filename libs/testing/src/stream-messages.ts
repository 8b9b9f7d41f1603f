import { jetstream, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@trellis/messaging';

/** One message read back from a stream: subject, headers as a record, body as text. */
export interface StreamMessage {
  subject: string;
  seq: number;
  headers: Record<string, string>;
  text: string;
}

/**
 * Every message of `stream` matching `filterSubject` (default all), in order, read with an
 * ephemeral ordered consumer: for a test to count what reached the broker (duplicates,
 * dead letters) without touching the services' durable consumers.
 */
export async function streamMessages(nc: NatsConnection, stream: string, filterSubject?: string): Promise<StreamMessage[]> {
  const js = jetstream(nc);
  const consumer = await js.consumers.get(stream, filterSubject ? { filter_subjects: filterSubject } : {});
  const out: StreamMessage[] = [];
  try {
    for (;;) {
      const batch = await consumer.fetch({ max_messages: 1000, expires: 1000 });
      let last: JsMsg | undefined;
      for await (const m of batch) {
        last = m;
        const headers: Record<string, string> = {};
        for (const key of m.headers?.keys() ?? []) headers[key] = m.headers!.last(key);
        out.push({ subject: m.subject, seq: m.seq, headers, text: m.string() });
      }
      if (!last || last.info.pending === 0) break;
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
  return out;
}
