import { Module, type DynamicModule } from '@nestjs/common';
import { DatabaseModule, MessagingModule } from '@trellis/runtime';
import { PLANNER_CONFIG, type PlannerConfig } from './config';
import { PLANNER_MIGRATIONS } from './migrations/initial.migration';
import { CompiledPipelines } from './pipelines/compiled-pipelines';
import { PipelineAnalysisService } from './pipelines/pipeline-analysis.service';
import { PipelineRepository } from './pipelines/pipeline.repository';
import { PipelineService } from './pipelines/pipeline.service';
import { PLANNER_ENTITIES } from './planner.schema';
import { EventOutbox } from './platform/event-outbox';
import { PlannerRpcServer } from './platform/planner-rpc.server';
import { ProductStore } from './runs/product-store';
import { RegistryAnswers } from './runs/registry-answers';
import { TemplatePins } from './runs/template-pins';
import { RunStore } from './runs/run-store';
import { ProductsHandler } from './runs/products.handler';
import { AdmissionHandler } from './admission/admission.handler';
import { AdmissionService } from './admission/admission.service';
import { FairDispatch } from './admission/fair-dispatch';
import { ProjectSettingsService } from './admission/project-settings.service';
import { RunRetention } from './runs/run-retention';
import { ReplayService } from './runs/replay.service';
import { RunService } from './runs/run.service';
import { StepResultHandler } from './runs/step-result.handler';

@Module({})
export class PlannerModule {
  static forRoot(config: PlannerConfig): DynamicModule {
    return {
      module: PlannerModule,
      imports: [
        MessagingModule.forService('planner', config),
        DatabaseModule.forRoot({
          url: config.DATABASE_URL,
          schema: 'planner',
          poolSize: config.DATABASE_POOL_SIZE,
          entities: PLANNER_ENTITIES,
          migrations: PLANNER_MIGRATIONS,
          // The planner commits every run change with its messages (EventOutbox).
          outbox: true,
        }),
      ],
      providers: [
        { provide: PLANNER_CONFIG, useValue: config },
        CompiledPipelines,
        PipelineRepository,
        PipelineAnalysisService,
        PipelineService,
        EventOutbox,
        RunStore,
        ProjectSettingsService,
        FairDispatch,
        AdmissionService,
        ProductStore,
        RegistryAnswers,
        TemplatePins,
        RunService,
        ReplayService,
        RunRetention,
      ],
      // Message handlers and RPC methods, served by the JetStream transport.
      controllers: [StepResultHandler, ProductsHandler, AdmissionHandler, PlannerRpcServer],
    };
  }
}
