import { Module, type DynamicModule } from '@nestjs/common';
import { DatabaseModule, MessagingModule } from '@trellis/runtime';
import { REGISTRY_CONFIG, type RegistryConfig } from './config';
import { ExperimentResultsHandler } from './experiments/experiment-results.handler';
import { ExperimentRepository } from './experiments/experiment.repository';
import { ExperimentService } from './experiments/experiment.service';
import { PipelineClient } from './experiments/pipeline-client';
import { REGISTRY_MIGRATIONS } from './migrations/initial.migration';
import { RegistryRpcServer } from './platform/registry-rpc.server';
import { RegistryGeneration } from './templates/registry-generation';
import { RunPinRepository } from './templates/run-pin.repository';
import { TemplateResolverService } from './templates/template-resolver.service';
import { TemplateSeeder } from './templates/template-seeder';
import { TemplateRepository } from './templates/template.repository';
import { TemplateService } from './templates/template.service';

@Module({})
export class TemplateRegistryModule {
  static forRoot(config: RegistryConfig): DynamicModule {
    return {
      module: TemplateRegistryModule,
      imports: [
        MessagingModule.forService('registry', config),
        DatabaseModule.forRoot({
          url: config.DATABASE_URL,
          schema: 'registry',
          poolSize: config.DATABASE_POOL_SIZE,
          // Plain SQL in the repositories.
          entities: [],
          migrations: REGISTRY_MIGRATIONS,
        }),
      ],
      providers: [
        { provide: REGISTRY_CONFIG, useValue: config },
        RegistryGeneration,
        TemplateRepository,
        RunPinRepository,
        TemplateService,
        TemplateResolverService,
        ExperimentRepository,
        ExperimentService,
        PipelineClient,
        TemplateSeeder,
      ],
      // Message handlers and RPC methods, served by the JetStream transport.
      controllers: [ExperimentResultsHandler, RegistryRpcServer],
    };
  }
}
