import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { StepFailed, StepGenerated, StepVerified } from '@trellis/contracts';
import type { DeadLetterInfo } from '@trellis/messaging';
import { OnDeadLetter, OnEvent, type OnEventOptions } from '@trellis/runtime';
import { z } from 'zod';
import type { PlannerConfig } from '../config';
import { RunService } from './run.service';

/**
 * A result must never be dropped for a passing reason (PostgreSQL failing over, the products
 * bucket away): the planner retries for hours, backing off to a minute. Only a result that
 * keeps failing that long is dead-lettered, and then its step fails with the reason, so the
 * run ends instead of waiting forever.
 */
const settings: OnEventOptions<PlannerConfig>['settings'] = (c) => ({
  concurrency: c.PLANNER_CONCURRENCY,
  maxDeliver: 1000,
  backoffMs: [1_000, 5_000, 15_000, 30_000, 60_000],
});

const StepRef = z.object({ runId: z.string(), stepId: z.string(), attempt: z.number().int().positive() });

/**
 * Consumes step results from the events stream and applies them to their runs. Idempotent
 * on (runId, stepId, attempt): the engine ignores a result it has already applied. RunService
 * forks a fresh EntityManager for every result it applies.
 */
@Controller()
export class StepResultHandler {
  constructor(private readonly runs: RunService) {}

  @OnEvent(StepGenerated, { stream: 'events', durable: 'planner-step-generated', settings })
  generated(@Payload() event: StepGenerated) {
    return this.runs.applyGenerated(event);
  }

  @OnEvent(StepVerified, { stream: 'events', durable: 'planner-step-verified', settings })
  verified(@Payload() event: StepVerified) {
    return this.runs.applyVerified(event);
  }

  @OnEvent(StepFailed, { stream: 'events', durable: 'planner-step-failed', settings })
  failed(@Payload() event: StepFailed) {
    return this.runs.applyFailed(event);
  }

  @OnDeadLetter('planner-step-generated', 'planner-step-verified', 'planner-step-failed')
  async deadLettered(@Payload() { data, reason }: DeadLetterInfo) {
    const ref = StepRef.safeParse(data);
    if (!ref.success) return; // not a step result at all: the dead-letter subject keeps it
    await this.runs.applyFailed({ ...ref.data, error: { code: 'planner_dead_letter', message: `the planner could not apply a result: ${reason}`, retryable: false } });
  }
}
