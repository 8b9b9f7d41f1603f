import { useEffect, useRef, useState } from 'react';
import { fetchEventSource } from '@microsoft/fetch-event-source';
import type { ApiClient } from '../api/api-client';
import type { RunEvent } from './run-live';

export type StreamState = 'connecting' | 'live' | 'ended' | 'reconnecting' | 'failed';

class FatalStreamError extends Error {}

/**
 * Follows `GET /v1/runs/{id}/events` with the API key in the `Authorization` header (an
 * EventSource could only put it in the URL). Events are handed over in batches, at most one per
 * animation frame, so that a burst (the replay of a large run's history) renders once. A stream
 * that ends before `run.completed` is resumed with `Last-Event-ID`; so is a new subscription
 * after `reconnect` changes (a resumed run).
 */
export function useRunEvents(api: ApiClient, runId: string | null, reconnect: number, onEvents: (events: RunEvent[]) => void): StreamState {
  const [state, setState] = useState<StreamState>('connecting');
  const handler = useRef(onEvents);
  handler.current = onEvents;
  const lastId = useRef<string | null>(null);
  const completed = useRef(false);

  useEffect(() => {
    if (runId === null) return;
    const controller = new AbortController();
    let buffer: RunEvent[] = [];
    let frame = 0;
    const flush = () => {
      frame = 0;
      const batch = buffer;
      buffer = [];
      if (batch.length) handler.current(batch);
    };
    setState('connecting');
    void fetchEventSource(`/v1/runs/${encodeURIComponent(runId)}/events`, {
      headers: { ...api.authorization, ...(lastId.current ? { 'last-event-id': lastId.current } : {}) },
      signal: controller.signal,
      async onopen(res) {
        if (res.ok && res.headers.get('content-type')?.startsWith('text/event-stream')) {
          setState('live');
          return;
        }
        throw new FatalStreamError(res.status === 404 ? 'no such run' : `the gateway answered ${res.status}`);
      },
      onmessage(message) {
        if (!message.data) return;
        if (message.event === 'error') {
          setState('reconnecting');
          return;
        }
        const event = JSON.parse(message.data) as RunEvent;
        if (message.id) lastId.current = message.id;
        if (event.type === 'dev.trellis.run.completed') completed.current = true;
        if (event.type === 'dev.trellis.run.resumed') completed.current = false;
        buffer.push(event);
        frame ||= requestAnimationFrame(flush);
      },
      onclose() {
        // The gateway ends the stream after the run's end; any other end is a dropped connection.
        if (!completed.current) throw new Error('the event stream ended early');
        flush();
        setState('ended');
      },
      onerror(err) {
        if (err instanceof FatalStreamError) {
          setState('failed');
          throw err;
        }
        setState('reconnecting');
        return 2_000;
      },
      openWhenHidden: false,
    }).catch(() => undefined);
    return () => {
      controller.abort();
      cancelAnimationFrame(frame);
    };
  }, [api, runId, reconnect]);

  return state;
}
