import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { ExperimentOutcome } from '@trellis/contracts';
import { Database } from '@trellis/persistence';
import { OnEvent } from '@trellis/runtime';
import type { RegistryConfig } from '../config';
import { ExperimentRepository } from './experiment.repository';

/**
 * Feeds experiment results from the planner's `experiment.outcome` work items: verdicts and
 * scores, steps that ended, the run's end. The planner sends them only for runs that pinned
 * an experiment variant, so the registry hears nothing of other runs. Each fact is attributed
 * to the variant recorded for its run at resolve time, with idempotent upserts (a verdict
 * only replaces one of an earlier or equal attempt), so redelivery is harmless.
 */
@Controller()
export class ExperimentResultsHandler {
  constructor(
    private readonly db: Database,
    private readonly experiments: ExperimentRepository,
  ) {}

  @OnEvent(ExperimentOutcome, { stream: 'work', durable: 'registry-experiment-outcomes', settings: (c: RegistryConfig) => ({ concurrency: c.REGISTRY_CONCURRENCY }) })
  async record(@Payload() { runId, steps, run }: ExperimentOutcome): Promise<void> {
    await this.db.fork().transactional(async (em) => {
      for (const s of steps) {
        if (s.verdict !== undefined && s.score !== undefined) await this.experiments.recordVerified(em, { runId, stepId: s.stepId, attempt: s.attempt, verdict: s.verdict, score: s.score });
        if (s.status !== undefined) await this.experiments.recordStepCompleted(em, { runId, stepId: s.stepId, status: s.status });
      }
      if (run) {
        await this.experiments.recordRunCompleted(em, { runId, status: run.status, inputTokens: run.usage.inputTokens, outputTokens: run.usage.outputTokens, cost: run.cost, durationMs: run.durationMs });
      }
    });
  }
}
