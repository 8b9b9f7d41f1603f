import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { VerifyRequested } from '@trellis/contracts';
import type { DeadLetterInfo, MessageContext } from '@trellis/messaging';
import { OnDeadLetter, OnEvent } from '@trellis/runtime';
import type { VerifierConfig } from '../config';
import { VerificationService } from './verification.service';

/**
 * Pulls verification jobs (`trellis.<ns>.work.verify`) the planner queues for steps with
 * gates, and publishes `step.verified`. A judge failure is retried with backoff; past
 * `VERIFIER_MAX_DELIVER` deliveries the job is dead-lettered and its step fails (`step.failed`).
 */
@Controller()
export class VerifyWorkHandler {
  constructor(private readonly verification: VerificationService) {}

  @OnEvent(VerifyRequested, {
    stream: 'work',
    durable: 'verifier-verify',
    settings: (c: VerifierConfig) => ({ concurrency: c.VERIFIER_CONCURRENCY, maxDeliver: c.VERIFIER_MAX_DELIVER }),
  })
  verify(@Payload() job: VerifyRequested, @Ctx() ctx: MessageContext) {
    return this.verification.verify(job, ctx.signal);
  }

  @OnDeadLetter('verifier-verify')
  async deadLettered(@Payload() { data, reason }: DeadLetterInfo) {
    const job = VerifyRequested.data.safeParse(data);
    if (job.success) await this.verification.fail(job.data, reason);
  }
}
