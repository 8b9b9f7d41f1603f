import { Inject, Injectable } from '@nestjs/common';
import { messageIds, resultQueues, StepFailed, StepGenerated, StepProgress, StepReady, subjects, type FailureInfo } from '@trellis/contracts';
import { EventPublisher } from '@trellis/messaging';
import type { z } from 'zod';
import { EXECUTOR_CONFIG, type ExecutorConfig } from '../config';

type StepRef = Pick<StepReady, 'runId' | 'stepId' | 'attempt'>;
export type GeneratedResult = Omit<z.input<typeof StepGenerated.data>, 'runId' | 'stepId' | 'attempt' | 'executor'>;

/**
 * What the executor says about a step attempt. A result (`step.generated`, `step.failed`) is
 * published as an event and handed to a planner directly, or queued for the planners when none
 * takes it (ADR 0017). Ids are deterministic per attempt, so a redelivered attempt that already
 * published is dropped by JetStream's dedupe (the planner is handed the stored result) and
 * ignored by the planner once applied, and a superseded attempt's result never counts.
 */
@Injectable()
export class StepEventsPublisher {
  private readonly subjects;
  /** The planner's result queues, and where a planner takes a result directly. */
  private readonly results;

  constructor(
    @Inject(EXECUTOR_CONFIG) private readonly config: ExecutorConfig,
    private readonly publisher: EventPublisher,
  ) {
    this.subjects = subjects(config.TRELLIS_NAMESPACE);
    this.results = resultQueues(this.subjects);
  }

  async generated(job: StepRef & Pick<StepReady, 'then'>, result: GeneratedResult): Promise<void> {
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
    const continued = await this.continue(job, result);
    await this.publisher.publishAndHandOff(
      StepGenerated,
      { runId: job.runId, stepId: job.stepId, attempt: job.attempt, ...result, executor: this.config.EXECUTOR_ID, ...(continued.length ? { continued } : {}) },
      { subject: this.subjects.event('step', 'generated', job.runId), id: messageIds.stepGenerated(job.runId, job.stepId, job.attempt), ...this.results.generated },
    );
  }

  /**
   * Publishes the job's continuations (ADR 0013) with this answer as their dependency's output,
   * before the result: once the result is stored, its continuations are too, so the planner can
   * record them dispatched without publishing them again. Ids are the jobs' own, so a redelivered
   * attempt publishing them twice stores them once.
   */
  private async continue(job: StepRef & Pick<StepReady, 'then'>, result: GeneratedResult): Promise<string[]> {
    if (!job.then?.length) return [];
    const output = result.structured ?? result.output;
    await Promise.all(
      job.then.map((next) =>
        this.publisher.publish(
          StepReady,
          { ...next, context: { inputs: next.context.inputs, steps: { ...next.context.steps, [job.stepId]: { output } } } },
          { subject: this.subjects.stepWork(next.pool), id: messageIds.stepReady(next.runId, next.stepId, next.attempt) },
        ),
      ),
    );
    return job.then.map((next) => next.stepId);
  }

  /** Reports an attempt that will not succeed, whether now or after its last try. */
  async failed(job: StepRef, error: FailureInfo): Promise<void> {
    await this.publisher.publishAndHandOff(
      StepFailed,
      { runId: job.runId, stepId: job.stepId, attempt: job.attempt, error, executor: this.config.EXECUTOR_ID },
      { subject: this.subjects.event('step', 'failed', job.runId), id: messageIds.stepFailed(job.runId, job.stepId, job.attempt), ...this.results.failed },
    );
  }

  /** `seq` numbers the progress events of one delivery; a redelivery's restart under new ids. */
  async progress(job: StepRef, delivery: number, seq: number, outputTokens: number, delta: string): Promise<void> {
    await this.publisher.publish(
      StepProgress,
      { runId: job.runId, stepId: job.stepId, attempt: job.attempt, outputTokens, delta },
      { subject: this.subjects.event('step', 'progress', job.runId), id: messageIds.stepProgress(job.runId, job.stepId, job.attempt, delivery, seq) },
    );
  }
}
