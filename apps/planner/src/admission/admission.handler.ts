import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { AdmissionRequested, subjects } from '@trellis/contracts';
import { ConsumerHost } from '@trellis/runtime';
import { logger } from '@trellis/telemetry';
import { PLANNER_CONFIG, type PlannerConfig } from '../config';
import { RunService } from '../runs/run.service';
import { AdmissionService } from './admission.service';

/**
 * Consumes the planner's own `run.admission_requested` jobs (a running run of the project
 * ended): an admission pass starts the project's queued runs that fit. Idempotent: a pass
 * recounts under the project's lock, so a repeated job starts nothing twice. On start, a pass
 * for every project with queued runs.
 */
@Injectable()
export class AdmissionHandler implements OnApplicationBootstrap {
  private readonly log = logger('admission');

  constructor(
    @Inject(PLANNER_CONFIG) private readonly config: PlannerConfig,
    private readonly consumers: ConsumerHost,
    private readonly runs: RunService,
    private readonly admission: AdmissionService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.consumers.start({
      stream: 'work',
      durable: 'planner-admission',
      filterSubject: subjects(this.config.TRELLIS_NAMESPACE).admissionWork,
      contract: AdmissionRequested,
      concurrency: 16,
      maxDeliver: 1000,
      backoffMs: [1_000, 5_000, 15_000, 30_000, 60_000],
      handler: ({ project }) => this.runs.admit(project).then(() => undefined),
    });
    // Runs queued before this planner started: whatever freed their slots meanwhile, a pass now.
    for (const project of await this.admission.queuedProjects()) {
      await this.runs.admit(project).catch((err: unknown) => this.log.warn({ err, project }, 'admission pass at start failed; the next run that ends asks again'));
    }
  }
}
