import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { defineEvent, RunCompleted, StepCompleted, StepVerified, subjects } from '@trellis/contracts';
import { Database } from '@trellis/persistence';
import { ConsumerHost } from '@trellis/runtime';
import { z } from 'zod';
import { REGISTRY_CONFIG, type RegistryConfig } from '../config';
import { ExperimentRepository } from './experiment.repository';

/** run.completed as published, plus `cost` should the planner add it (the event contract only ever gains fields). */
const RunCompletedWithCost = defineEvent('run', 'completed', RunCompleted.data.extend({ cost: z.number().nonnegative().optional() }));

/**
 * Feeds experiment results from the public events: the verifier's verdicts and scores, step
 * and run outcomes. Each is attributed to the variant recorded for its run at resolve time;
 * a run in no experiment changes nothing. Every write is an idempotent upsert (a verdict only
 * replaces one of an earlier or equal attempt), so redelivery is harmless.
 */
@Injectable()
export class ExperimentResultsHandler implements OnApplicationBootstrap {
  constructor(
    @Inject(REGISTRY_CONFIG) private readonly config: RegistryConfig,
    private readonly consumers: ConsumerHost,
    private readonly db: Database,
    private readonly experiments: ExperimentRepository,
  ) {}

  /**
   * Most runs are in no experiment. A run's assignments are recorded when it starts, before
   * any of its events, so "no assignment" once seen stays true: remembering it spares a
   * statement per step of every such run.
   */
  private readonly outsideExperiments = new Set<string>();
  private static readonly REMEMBERED = 100_000;

  private async inExperiment(runId: string): Promise<boolean> {
    if (this.outsideExperiments.has(runId)) return false;
    if (await this.experiments.hasAssignment(this.db.fork(), runId)) return true;
    this.outsideExperiments.add(runId);
    if (this.outsideExperiments.size > ExperimentResultsHandler.REMEMBERED) {
      this.outsideExperiments.delete(this.outsideExperiments.values().next().value!);
    }
    return false;
  }

  async onApplicationBootstrap(): Promise<void> {
    const s = subjects(this.config.TRELLIS_NAMESPACE);
    const common = {
      stream: 'events' as const,
      concurrency: this.config.REGISTRY_CONCURRENCY,
      // A run known to be in no experiment is acked from its subject alone: no decode, no
      // validation, no span, for nearly every event this app receives.
      skip: (subject: string) => this.outsideExperiments.has(s.runIdOfEvent(subject)),
    };
    await this.consumers.start({
      ...common,
      durable: 'registry-step-verified',
      filterSubject: s.eventsOfType('step', 'verified'),
      contract: StepVerified,
      handler: async (e) => {
        if (await this.inExperiment(e.runId)) await this.experiments.recordVerified(this.db.fork(), e);
      },
    });
    await this.consumers.start({
      ...common,
      durable: 'registry-step-completed',
      filterSubject: s.eventsOfType('step', 'completed'),
      contract: StepCompleted,
      handler: async (e) => {
        if (await this.inExperiment(e.runId)) await this.experiments.recordStepCompleted(this.db.fork(), e);
      },
    });
    await this.consumers.start({
      ...common,
      durable: 'registry-run-completed',
      filterSubject: s.eventsOfType('run', 'completed'),
      contract: RunCompletedWithCost,
      handler: async (e) => {
        if (!(await this.inExperiment(e.runId))) return;
        await this.experiments.recordRunCompleted(this.db.fork(), {
          runId: e.runId,
          status: e.status,
          inputTokens: e.usage.inputTokens,
          outputTokens: e.usage.outputTokens,
          cost: e.cost ?? null,
          durationMs: e.durationMs,
        });
      },
    });
  }
}
