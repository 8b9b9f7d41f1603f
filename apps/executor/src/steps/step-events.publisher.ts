import { Inject, Injectable } from '@nestjs/common';
import { StepFailed, StepGenerated, StepProgress, subjects, type FailureInfo, type StepReady } from '@trellis/contracts';
import { EventPublisher } from '@trellis/messaging';
import type { z } from 'zod';
import { EXECUTOR_CONFIG, type ExecutorConfig } from '../config';

type StepRef = Pick<StepReady, 'runId' | 'stepId' | 'attempt'>;
export type GeneratedResult = Omit<z.input<typeof StepGenerated.data>, 'runId' | 'stepId' | 'attempt' | 'executor'>;

/**
 * What the executor says about a step attempt. Ids are deterministic per attempt, so a
 * redelivered attempt that already published is dropped by JetStream's dedupe and ignored by
 * the planner, and a superseded attempt's result never counts.
 */
@Injectable()
export class StepEvents {
  private readonly subjects;

  constructor(
    @Inject(EXECUTOR_CONFIG) private readonly config: ExecutorConfig,
    private readonly publisher: EventPublisher,
  ) {
    this.subjects = subjects(config.TRELLIS_NAMESPACE);
  }

  async generated(job: StepRef, result: GeneratedResult): Promise<void> {
    // A result travels in one NATS message (1 MiB at most by default), and later in the jobs
    // of the steps that read it: an answer above the limit fails the step, with a reason,
    // rather than wedging the queues.
    const size = Buffer.byteLength(result.output) + Buffer.byteLength(JSON.stringify(result.messages ?? []));
    if (size > this.config.EXECUTOR_MAX_OUTPUT_BYTES) {
      return this.failed(job, {
        code: 'output_too_large',
        message: `the answer and its prompt take ${size} bytes, over EXECUTOR_MAX_OUTPUT_BYTES (${this.config.EXECUTOR_MAX_OUTPUT_BYTES}); lower max_tokens or split the step`,
        retryable: false,
      });
    }
    await this.publisher.publish(
      StepGenerated,
      { runId: job.runId, stepId: job.stepId, attempt: job.attempt, ...result, executor: this.config.EXECUTOR_ID },
      { subject: this.subjects.event('step', 'generated', job.runId), id: `step-generated.${job.runId}.${job.stepId}.${job.attempt}` },
    );
  }

  /** Reports an attempt that will not succeed, whether now or after its last try. */
  async failed(job: StepRef, error: FailureInfo): Promise<void> {
    await this.publisher.publish(
      StepFailed,
      { runId: job.runId, stepId: job.stepId, attempt: job.attempt, error, executor: this.config.EXECUTOR_ID },
      { subject: this.subjects.event('step', 'failed', job.runId), id: `step-failed.${job.runId}.${job.stepId}.${job.attempt}` },
    );
  }

  /** `seq` numbers the progress events of one delivery; a redelivery's restart under new ids. */
  async progress(job: StepRef, delivery: number, seq: number, outputTokens: number, delta: string): Promise<void> {
    await this.publisher.publish(
      StepProgress,
      { runId: job.runId, stepId: job.stepId, attempt: job.attempt, outputTokens, delta },
      { subject: this.subjects.event('step', 'progress', job.runId), id: `step-progress.${job.runId}.${job.stepId}.${job.attempt}.${delivery}.${seq}` },
    );
  }
}
