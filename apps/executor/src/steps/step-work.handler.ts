import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { StepReady, subjects } from '@trellis/contracts';
import { ConsumerHost } from '@trellis/runtime';
import { EXECUTOR_CONFIG, type ExecutorConfig } from '../config';
import { StepRunner } from './step-runner.service';

/**
 * The queue's own delivery limit, above any step's retry policy (at most 20 tries): the
 * step runner applies the policy; this only bounds failures outside it (a NATS outage
 * while publishing the result).
 */
const QUEUE_MAX_DELIVER = 25;

/**
 * Pulls `step.ready` jobs from each configured pool's work queue (`work.step.<pool>`, one
 * durable consumer per pool, shared by every replica), at most EXECUTOR_CONCURRENCY at a
 * time. A job that exhausts the queue's deliveries is reported failed, with the last error as
 * the reason, so the run fails cleanly instead of waiting forever.
 */
@Injectable()
export class StepWorkHandler implements OnApplicationBootstrap {
  constructor(
    @Inject(EXECUTOR_CONFIG) private readonly config: ExecutorConfig,
    private readonly consumers: ConsumerHost,
    private readonly runner: StepRunner,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const s = subjects(this.config.TRELLIS_NAMESPACE);
    for (const pool of this.config.EXECUTOR_POOLS) {
      await this.consumers.start({
        stream: 'work',
        durable: `executor-${pool}`,
        filterSubject: s.stepWork(pool),
        contract: StepReady,
        concurrency: this.config.EXECUTOR_CONCURRENCY,
        maxDeliver: Math.max(QUEUE_MAX_DELIVER, this.config.EXECUTOR_MAX_DELIVER),
        ackWaitMs: this.config.EXECUTOR_ACK_WAIT_MS,
        handler: (job, ctx) => this.runner.run(job, ctx),
        onDeadLetter: async ({ data, reason }) => {
          const job = StepReady.data.safeParse(data);
          if (job.success) await this.runner.fail(job.data, 'delivery_limit', reason);
        },
      });
    }
  }
}
