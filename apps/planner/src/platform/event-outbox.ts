import { Inject, Injectable } from '@nestjs/common';
import { subjects, type OutboxRow, type Subjects } from '@trellis/contracts';
import type { Outgoing } from '@trellis/engine';
import { encodeBuilt, OutboxRelay, traceHeaders } from '@trellis/messaging';
import { PLANNER_CONFIG, type PlannerConfig } from '../config';

const SOURCE = 'trellis/planner';

/**
 * Turns the messages of engine decisions into outbox rows (written in the transaction that
 * commits the decision) and hands the relay what committed. Each row's id is its message id,
 * so a row published twice is stored once by JetStream's dedupe window.
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

  /** The rows of one run's messages. The data was built by the engine from validated data: encoded as it is. */
  rows(runId: string, messages: readonly Outgoing[]): OutboxRow[] {
    if (!messages.length) return [];
    // The trace context of the change travels with the rows, so relayed messages continue the run's trace.
    const headers = traceHeaders();
    return messages.map((m) => ({ id: m.id, subject: this.subjectOf(runId, m), body: encodeBuilt(m.contract, m.data, { id: m.id, source: SOURCE }).text, headers }));
  }

  /** After a commit: publish its rows now rather than at the relay's next poll. */
  flush(): void {
    void this.relay.kick();
  }

  private subjectOf(runId: string, m: Outgoing): string {
    switch (m.queue) {
      case 'step':
        return this.subjects.stepWork(m.pool);
      case 'verify':
        return this.subjects.verifyWork;
      case 'products':
        return this.subjects.productsWork;
      case 'experiments':
        return this.subjects.experimentWork;
      case 'admission':
        return this.subjects.admissionWork;
      case 'event':
        return this.subjects.event(m.contract.entity, m.contract.change, runId);
    }
  }
}
