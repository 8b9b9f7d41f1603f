import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { subjects, VerifyRequested } from '@trellis/contracts';
import { ConsumerHost } from '@trellis/runtime';
import { VERIFIER_CONFIG, type VerifierConfig } from '../config';
import { VerificationService } from './verification.service';

/**
 * Pulls verification jobs (`trellis.<ns>.work.verify`) the planner queues for steps with
 * gates, and publishes `step.verified`. A judge failure is retried with backoff; past
 * `VERIFIER_MAX_DELIVER` deliveries the job is dead-lettered and its step fails (`step.failed`).
 */
@Injectable()
export class VerifyWorkHandler implements OnApplicationBootstrap {
  constructor(
    @Inject(VERIFIER_CONFIG) private readonly config: VerifierConfig,
    private readonly consumers: ConsumerHost,
    private readonly verification: VerificationService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.consumers.start({
      stream: 'work',
      durable: 'verifier-verify',
      filterSubject: subjects(this.config.TRELLIS_NAMESPACE).verifyWork,
      contract: VerifyRequested,
      concurrency: this.config.VERIFIER_CONCURRENCY,
      maxDeliver: this.config.VERIFIER_MAX_DELIVER,
      handler: (job, ctx) => this.verification.verify(job, ctx.signal),
      onDeadLetter: async ({ data, reason }) => {
        const job = VerifyRequested.data.safeParse(data);
        if (job.success) await this.verification.fail(job.data, reason);
      },
    });
  }
}
