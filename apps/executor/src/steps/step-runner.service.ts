import { Inject, Injectable } from '@nestjs/common';
import type { RetryPolicy, StepReady } from '@trellis/contracts';
import { RetryableError, type MessageContext } from '@trellis/messaging';
import { RunCancellationsService } from '../cancellation/run-cancellations.service';
import { EXECUTOR_CONFIG, type ExecutorConfig } from '../config';
import { ModelStepService } from '../models/model-step.service';
import { ToolStepService } from '../tools/tool-step.service';
import { decideRetry } from './retry-decision';
import { StepError } from './step.errors';
import { StepEventsPublisher } from './step-events.publisher';

/**
 * Runs one try of one step attempt (a model call or a tool) and decides what its outcome
 * means: a result is published as `step.generated`; a final failure, or a retryable one on
 * the policy's last try, as `step.failed`; any other retryable failure goes back to the
 * queue with the policy's backoff (or the provider's Retry-After) as the redelivery delay.
 * A job whose run ended cancelled or failed is acked without a result, its call aborted.
 */
@Injectable()
export class StepRunnerService {
  constructor(
    @Inject(EXECUTOR_CONFIG) private readonly config: ExecutorConfig,
    private readonly cancellations: RunCancellationsService,
    private readonly models: ModelStepService,
    private readonly tools: ToolStepService,
    private readonly events: StepEventsPublisher,
  ) {}

  async run(job: StepReady, ctx: Pick<MessageContext, 'signal' | 'deliveryCount' | 'event'>): Promise<void> {
    const scope = this.cancellations.enter(job.runId, Date.parse(ctx.event.time), ctx.signal);
    try {
      if (scope.ended) return;
      const { signal } = scope;
      let result;
      try {
        result = job.tool ? await this.tools.run(job, job.tool, signal) : await this.models.run(job, ctx.deliveryCount, signal);
      } catch (err) {
        if (scope.ended) return;
        // The consumer is stopping and has handed the message back: nothing to report.
        if (ctx.signal.aborted) throw err;
        return await this.failed(job, ctx.deliveryCount, err);
      }
      if (scope.ended) return;
      await this.events.generated(job, result);
    } finally {
      scope.release();
    }
  }

  /** Reports an attempt that will not succeed (also used once its deliveries are exhausted). */
  fail(job: Pick<StepReady, 'runId' | 'stepId' | 'attempt'>, code: string, message: string): Promise<void> {
    return this.events.failed(job, { code, message, retryable: false });
  }

  private async failed(job: StepReady, delivery: number, err: unknown): Promise<void> {
    const failure = err instanceof StepError ? err : StepError.retryable('executor.unexpected', err instanceof Error ? err.message : String(err));
    if (!failure.retryable) return this.events.failed(job, failure.toFailureInfo());
    const decision = decideRetry(this.policyOf(job), delivery, failure.retryAfterMs);
    if (!decision.retry) {
      return this.events.failed(job, { ...failure.toFailureInfo(), message: `gave up after ${delivery} tries: ${failure.message}` });
    }
    // The delay is decided: the consumer runner naks with it exactly.
    throw new RetryableError(failure.message, { code: failure.code, retryAfterMs: decision.delayMs, cause: err });
  }

  private policyOf(job: StepReady): RetryPolicy {
    return job.retry ?? { attempts: this.config.EXECUTOR_MAX_DELIVER, initialMs: 1_000, maxMs: 30_000 };
  }
}
