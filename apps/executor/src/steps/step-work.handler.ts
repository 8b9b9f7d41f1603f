import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { StepReady } from '@trellis/contracts';
import type { DeadLetterInfo, MessageContext } from '@trellis/messaging';
import { OnDeadLetter, OnEvent } from '@trellis/runtime';
import type { ExecutorConfig } from '../config';
import { StepRunnerService } from './step-runner.service';

/**
 * The queue's own delivery limit, above any step's retry policy (at most 20 tries): the
 * step runner applies the policy; this only bounds failures outside it (a NATS outage
 * while publishing the result).
 */
const QUEUE_MAX_DELIVER = 25;

/**
 * Pulls `step.ready` jobs from each configured pool's work queue (`work.step.<pool>`, one
 * durable consumer per pool, `executor-<pool>`, shared by every replica), at most
 * EXECUTOR_CONCURRENCY at a time. A job that exhausts the queue's deliveries is reported
 * failed, with the last error as the reason, so the run fails cleanly instead of waiting forever.
 */
@Controller()
export class StepWorkHandler {
  constructor(private readonly runner: StepRunnerService) {}

  @OnEvent(StepReady, {
    stream: 'work',
    durable: 'executor',
    settings: (c: ExecutorConfig) => ({
      pools: c.EXECUTOR_POOLS,
      concurrency: c.EXECUTOR_CONCURRENCY,
      maxDeliver: Math.max(QUEUE_MAX_DELIVER, c.EXECUTOR_MAX_DELIVER),
      ackWaitMs: c.EXECUTOR_ACK_WAIT_MS,
    }),
  })
  run(@Payload() job: StepReady, @Ctx() ctx: MessageContext) {
    return this.runner.run(job, ctx);
  }

  @OnDeadLetter('executor')
  async deadLettered(@Payload() { data, reason }: DeadLetterInfo) {
    const job = StepReady.data.safeParse(data);
    if (job.success) await this.runner.fail(job.data, 'delivery_limit', reason);
  }
}
