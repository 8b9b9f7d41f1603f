import type { CloudEventEnvelope } from '@trellis/contracts';
import type { GatewayClient } from './gateway-client';

export interface StreamedEvent {
  id: string;
  envelope: CloudEventEnvelope;
}

/**
 * A run's events over SSE. A dropped connection is resumed with `Last-Event-ID`, so no event
 * is lost or repeated; the stream ends when the gateway ends it (after `run.completed`).
 */
export async function* runEvents(client: GatewayClient, runId: string, signal: AbortSignal, maxReconnects = 5): AsyncGenerator<StreamedEvent> {
  let lastId: string | undefined;
  let failures = 0;
  for (;;) {
    let ended = false;
    try {
      const res = await client.raw('GET', `/v1/runs/${runId}/events`, undefined, lastId ? { 'last-event-id': lastId } : {});
      if (!res.ok) throw new Error(`the event stream answered ${res.status}`);
      const decoder = new TextDecoder();
      let buffer = '';
      const reader = res.body!.getReader();
      signal.addEventListener('abort', () => void reader.cancel().catch(() => undefined), { once: true });
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = parseBlock(block);
          if (!event) continue;
          lastId = event.id;
          failures = 0;
          yield event;
        }
      }
      ended = true;
    } catch (err) {
      if (signal.aborted) return;
      if (++failures > maxReconnects) throw err;
      await new Promise((r) => setTimeout(r, 250 * failures));
    }
    if (ended || signal.aborted) return;
  }
}

function parseBlock(block: string): StreamedEvent | undefined {
  let id: string | undefined;
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('id:')) id = line.slice(3).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  if (!id || !data.length) return undefined;
  try {
    return { id, envelope: JSON.parse(data.join('\n')) as CloudEventEnvelope };
  } catch {
    return undefined;
  }
}
