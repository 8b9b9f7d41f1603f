import { Inject, Injectable } from '@nestjs/common';
import { subjects, type EventContract, type Subjects } from '@trellis/contracts';
import { encodeEvent, OutboxRelay, traceHeaders } from '@trellis/messaging';
import { uuidv7, type SqlTransaction } from '@trellis/persistence';
import type { z } from 'zod';
import { PLANNER_CONFIG, type PlannerConfig } from '../config';

const SOURCE = 'trellis/planner';

/**
 * Everything the planner publishes goes through here, into the outbox rows of the caller's
 * transaction; `flush()` after commit tells the relay to publish them now rather than at its
 * next poll.
 */
@Injectable()
export class EventOutbox {
  readonly subjects: Subjects;

  constructor(
    @Inject(PLANNER_CONFIG) config: PlannerConfig,
    private readonly relay: OutboxRelay,
  ) {
    this.subjects = subjects(config.TRELLIS_NAMESPACE);
  }

  /** A public event about a run: `trellis.<ns>.events.<entity>.<change>.<runId>`. */
  event<C extends EventContract>(tx: SqlTransaction, contract: C, runId: string, data: z.infer<C['data']>): void {
    this.add(tx, contract, this.subjects.event(contract.entity, contract.change, runId), uuidv7(), data);
  }

  /**
   * A job on a work queue. Its id is deterministic (one per step attempt), so even a row
   * published twice is delivered once: JetStream drops the duplicate by `Nats-Msg-Id`.
   */
  work<C extends EventContract>(tx: SqlTransaction, contract: C, subject: string, id: string, data: z.infer<C['data']>): void {
    this.add(tx, contract, subject, id, data);
  }

  flush(): void {
    this.relay.kick();
  }

  private add(tx: SqlTransaction, contract: EventContract, subject: string, id: string, data: unknown): void {
    const encoded = encodeEvent(contract, data, { id, source: SOURCE });
    // The trace context of the change travels with the row, so relayed events continue the run's trace.
    tx.outbox({ id, subject, body: encoded.text, headers: traceHeaders() });
  }
}
