import { Inject, Injectable } from '@nestjs/common';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { CloudEventEnvelope, RunCompleted, RunResumed, subjects } from '@trellis/contracts';
import type { NatsConnection } from '@trellis/messaging';
import { NATS } from '@trellis/runtime';
import { logger } from '@trellis/telemetry';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config';

/** One event of a run as stored on the EVENTS stream: its stream sequence and envelope. */
export interface RunEvent {
  seq: number;
  envelope: CloudEventEnvelope;
}

/**
 * Follows one run's events on the EVENTS stream with an ordered (ephemeral) consumer filtered
 * on `trellis.<ns>.events.*.*.<runId>`: from the beginning or after a stream sequence, ending
 * after `run.completed`. Reading never touches the run: a reader that leaves only drops its
 * ephemeral consumer.
 */
@Injectable()
export class RunEventFeed {
  private readonly log = logger('run-events');
  private readonly names: ReturnType<typeof subjects>;

  constructor(
    @Inject(NATS) private readonly nc: NatsConnection,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
  ) {
    this.names = subjects(config.TRELLIS_NAMESPACE);
  }

  /** Whether anything after `afterSeq` can still come: false once `run.completed` is at or before it. */
  async hasMoreAfter(runId: string, afterSeq: number): Promise<boolean> {
    const jsm = await jetstreamManager(this.nc);
    const last = await jsm.streams
      .getMessage(this.names.streams.events, { last_by_subj: this.names.event(RunCompleted.entity, RunCompleted.change, runId) })
      .catch(() => null);
    return !last || last.seq > afterSeq;
  }

  private async resumedAfter(runId: string, seq: number): Promise<boolean> {
    const jsm = await jetstreamManager(this.nc);
    const last = await jsm.streams
      .getMessage(this.names.streams.events, { last_by_subj: this.names.event(RunResumed.entity, RunResumed.change, runId) })
      .catch(() => null);
    return !!last && last.seq > seq;
  }

  /**
   * `graceMs`: how long to keep reading after `run.completed` for events committed with it (the
   * outbox does not guarantee their order); 0 ends at `run.completed`.
   */
  async *follow(runId: string, options: { afterSeq?: number; signal: AbortSignal; graceMs?: number }): AsyncGenerator<RunEvent> {
    if (options.signal.aborted) return;
    const consumer = await jetstream(this.nc).consumers.get(this.names.streams.events, {
      filter_subjects: this.names.eventsOfRun(runId),
      ...(options.afterSeq ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: options.afterSeq + 1 } : { deliver_policy: DeliverPolicy.All }),
    });
    const messages = await consumer.consume();
    const stop = () => void messages.stop();
    options.signal.addEventListener('abort', stop, { once: true });
    const iterator = messages[Symbol.asyncIterator]();
    let endsAt: number | undefined;
    try {
      for (;;) {
        const next = endsAt === undefined ? await iterator.next() : await nextBefore(iterator, endsAt);
        if (!next || next.done) break;
        const m = next.value;
        const parsed = CloudEventEnvelope.safeParse(safeJson(m.string()));
        if (!parsed.success) {
          this.log.warn({ seq: m.seq, subject: m.subject }, 'skipped an event that is not a CloudEvent');
          continue;
        }
        yield { seq: m.seq, envelope: parsed.data };
        if (parsed.data.type === RunResumed.type) endsAt = undefined;
        if (parsed.data.type === RunCompleted.type && !(await this.resumedAfter(runId, m.seq))) {
          // A resumed run has more than one run.completed: only one not followed by run.resumed ends the feed.
          if (!options.graceMs) break;
          endsAt = Date.now() + options.graceMs;
        }
      }
    } finally {
      options.signal.removeEventListener('abort', stop);
      stop();
    }
  }
}

async function nextBefore<T>(iterator: AsyncIterator<T>, deadline: number): Promise<IteratorResult<T> | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()))));
  try {
    return await Promise.race([iterator.next(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
