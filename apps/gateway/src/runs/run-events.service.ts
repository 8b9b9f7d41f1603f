import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { PlannerRpc } from '@trellis/contracts';
import { RpcClient } from '@trellis/messaging';
import { logger } from '@trellis/telemetry';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config';
import { GatewayError } from '../http/gateway.errors';
import { SseStream } from '../http/sse-stream';
import { RunEventFeed } from './run-event-feed';

/**
 * Events the planner commits together with `run.completed` can reach the stream just after it;
 * the SSE stream waits this long for them before it ends.
 */
const AFTER_COMPLETION_GRACE_MS = 300;

/** `GET /v1/runs/{id}/events`: the run's events as SSE, `id:` = stream sequence, resumable. */
@Injectable()
export class RunEventsService {
  private readonly log = logger('sse');

  constructor(
    private readonly rpc: RpcClient,
    private readonly feed: RunEventFeed,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  async stream(project: string, runId: string, lastEventId: string | undefined, reply: FastifyReply): Promise<void> {
    const afterSeq = parseLastEventId(lastEventId);
    // 404 for an unknown run or another project's, before a single byte of the stream.
    const run = await this.rpc.call(PlannerRpc.getRun, { project, runId });
    const sse = new SseStream(reply, this.config.GATEWAY_SSE_HEARTBEAT_MS);
    try {
      if (run.status !== 'running' && run.status !== 'queued' && !(await this.feed.hasMoreAfter(runId, afterSeq))) return;
      for await (const e of this.feed.follow(runId, { afterSeq, signal: sse.signal, graceMs: AFTER_COMPLETION_GRACE_MS })) {
        sse.event({ id: e.seq, event: e.envelope.type, data: JSON.stringify(e.envelope) });
      }
    } catch (err) {
      if (!sse.closed) {
        this.log.warn({ err, runId }, 'event stream failed');
        sse.event({ event: 'error', data: JSON.stringify({ message: 'the event stream failed; reconnect with Last-Event-ID' }) });
      }
    } finally {
      sse.end();
    }
  }
}

function parseLastEventId(value: string | undefined): number {
  if (value === undefined || value === '') return 0;
  if (!/^\d{1,15}$/.test(value)) {
    throw new GatewayError('invalid_argument', 'Last-Event-ID is the stream sequence of the last event received', [
      { path: ['Last-Event-ID'], message: 'expected a whole number' },
    ]);
  }
  return Number(value);
}
