import { Controller, Inject, type OnApplicationBootstrap } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { StepFailed, StepGenerated, StepVerified, subjects } from '@trellis/contracts';
import { retireConsumers, type DeadLetterInfo, type NatsConnection } from '@trellis/messaging';
import { NATS, OnDeadLetter, OnEvent, type OnEventOptions } from '@trellis/runtime';
import { z } from 'zod';
import { PLANNER_CONFIG, type PlannerConfig } from '../config';
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
 * Applies step results to their runs. The executor and the verifier publish each result as an
 * event and hand it to a planner directly, which answers once the result is committed; the
 * planner's result queues hold only those no planner took that way (ADR 0017). Idempotent on
 * (runId, stepId, attempt): the engine ignores a result it has already applied.
 */
@Controller()
export class StepResultHandler implements OnApplicationBootstrap {
  constructor(
    private readonly runs: RunService,
    @Inject(NATS) private readonly nc: NatsConnection,
    @Inject(PLANNER_CONFIG) private readonly config: PlannerConfig,
  ) {}

  /**
   * Before ADR 0017 these durables read the results on the events stream; nothing reads them
   * now (executors and verifiers of this version hand results over, or queue them).
   */
  async onApplicationBootstrap(): Promise<void> {
    await retireConsumers(this.nc, subjects(this.config.TRELLIS_NAMESPACE).streams.events, ['planner-step-generated', 'planner-step-verified', 'planner-step-failed']);
  }

  @OnEvent(StepGenerated, { stream: 'work', durable: 'planner-step-generated', handoff: true, settings })
  generated(@Payload() event: StepGenerated) {
    return this.runs.applyGenerated(event);
  }

  @OnEvent(StepVerified, { stream: 'work', durable: 'planner-step-verified', handoff: true, settings })
  verified(@Payload() event: StepVerified) {
    return this.runs.applyVerified(event);
  }

  @OnEvent(StepFailed, { stream: 'work', durable: 'planner-step-failed', handoff: true, settings })
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
