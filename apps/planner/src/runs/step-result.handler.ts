import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { StepFailed, StepGenerated, StepVerified, subjects } from '@trellis/contracts';
import type { DeadLetterInfo } from '@trellis/messaging';
import { z } from 'zod';
import { ConsumerHost } from '@trellis/runtime';
import { PLANNER_CONFIG, type PlannerConfig } from '../config';
import { RunService } from './run.service';

/**
 * Consumes step results from the events stream and applies them to their runs. Idempotent
 * on (runId, stepId, attempt): the engine ignores a result it has already applied.
 */
const StepRef = z.object({ runId: z.string(), stepId: z.string(), attempt: z.number().int().positive() });

@Injectable()
export class StepResultHandler implements OnApplicationBootstrap {
  constructor(
    @Inject(PLANNER_CONFIG) private readonly config: PlannerConfig,
    private readonly consumers: ConsumerHost,
    private readonly runs: RunService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const s = subjects(this.config.TRELLIS_NAMESPACE);
    // A result must never be dropped for a passing reason (PostgreSQL failing over, the
    // products bucket away): the planner retries for hours, backing off to a minute. Only a
    // result that keeps failing that long is dead-lettered, and then its step fails with the
    // reason, so the run ends instead of waiting forever. RunService forks a fresh
    // EntityManager for every result it applies.
    const common = {
      stream: 'events' as const,
      concurrency: this.config.PLANNER_CONCURRENCY,
      maxDeliver: 1000,
      backoffMs: [1_000, 5_000, 15_000, 30_000, 60_000],
      onDeadLetter: async ({ data, reason }: DeadLetterInfo) => {
        const ref = StepRef.safeParse(data);
        if (!ref.success) return; // not a step result at all: the dead-letter subject keeps it
        await this.runs.applyFailed({ ...ref.data, error: { code: 'planner_dead_letter', message: `the planner could not apply a result: ${reason}`, retryable: false } });
      },
    };
    await this.consumers.start({
      ...common,
      durable: 'planner-step-generated',
      filterSubject: s.eventsOfType('step', 'generated'),
      contract: StepGenerated,
      handler: (event) => this.runs.applyGenerated(event),
    });
    await this.consumers.start({
      ...common,
      durable: 'planner-step-verified',
      filterSubject: s.eventsOfType('step', 'verified'),
      contract: StepVerified,
      handler: (event) => this.runs.applyVerified(event),
    });
    await this.consumers.start({
      ...common,
      durable: 'planner-step-failed',
      filterSubject: s.eventsOfType('step', 'failed'),
      contract: StepFailed,
      handler: (event) => this.runs.applyFailed(event),
    });
  }
}
