import { Controller, type OnApplicationBootstrap } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { AdmissionRequested } from '@trellis/contracts';
import { OnEvent } from '@trellis/runtime';
import { logger } from '@trellis/telemetry';
import { RunService } from '../runs/run.service';
import { AdmissionService } from './admission.service';

/**
 * Consumes the planner's own `run.admission_requested` jobs (a running run of the project
 * ended): an admission pass starts the project's queued runs that fit. Idempotent: a pass
 * recounts under the project's lock, so a repeated job starts nothing twice. On start, a pass
 * for every project with queued runs.
 */
@Controller()
export class AdmissionHandler implements OnApplicationBootstrap {
  private readonly log = logger('admission');

  constructor(
    private readonly runs: RunService,
    private readonly admission: AdmissionService,
  ) {}

  @OnEvent(AdmissionRequested, { stream: 'work', durable: 'planner-admission', settings: { concurrency: 16, maxDeliver: 1000, backoffMs: [1_000, 5_000, 15_000, 30_000, 60_000] } })
  async admit(@Payload() { project }: AdmissionRequested): Promise<void> {
    await this.runs.admit(project);
  }

  async onApplicationBootstrap(): Promise<void> {
    // Runs queued before this planner started: whatever freed their slots meanwhile, a pass now.
    for (const project of await this.admission.queuedProjects()) {
      await this.runs.admit(project).catch((err: unknown) => this.log.warn({ err, project }, 'admission pass at start failed; the next run that ends asks again'));
    }
  }
}
