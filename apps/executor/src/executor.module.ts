import { Module, type DynamicModule } from '@nestjs/common';
import { ModelCatalog, ProviderRegistry } from '@trellis/llm';
import { MessagingModule } from '@trellis/runtime';
import { RunCancellationsService } from './cancellation/run-cancellations.service';
import { EXECUTOR_CONFIG, type ExecutorConfig } from './config';
import { ModelStepService } from './models/model-step.service';
import { ProviderRateLimiter } from './rate-limits/provider-rate-limiter';
import { StepEventsPublisher } from './steps/step-events.publisher';
import { StepRunnerService } from './steps/step-runner.service';
import { StepWorkHandler } from './steps/step-work.handler';
import { AddressPolicy } from './tools/address-policy';
import { httpTool } from './tools/http.tool';
import { ToolRegistry } from './tools/tool-registry';
import { ToolStepService } from './tools/tool-step.service';
import { transformTool } from './tools/transform.tool';

@Module({})
export class ExecutorModule {
  static forRoot(config: ExecutorConfig): DynamicModule {
    return {
      module: ExecutorModule,
      imports: [MessagingModule.forService('executor', config)],
      providers: [
        { provide: EXECUTOR_CONFIG, useValue: config },
        {
          provide: ProviderRegistry,
          useFactory: () =>
            new ProviderRegistry({
              defaultProvider: { baseURL: config.OPENAI_BASE_URL, apiKey: config.OPENAI_API_KEY, timeoutMs: config.MODEL_TIMEOUT_MS, recordContent: config.EXECUTOR_RECORD_CONTENT },
              providers: Object.fromEntries(Object.entries(config.providers).map(([name, p]) => [name, { ...p, recordContent: config.EXECUTOR_RECORD_CONTENT }])),
              ...(config.providersFile ? { catalog: new ModelCatalog(config.providersFile) } : {}),
            }),
        },
        {
          provide: ToolRegistry,
          useFactory: async () => {
            const registry = new ToolRegistry([
              httpTool({ policy: new AddressPolicy(config.EXECUTOR_HTTP_ALLOW), maxBytes: config.EXECUTOR_HTTP_MAX_BYTES, timeoutMs: config.EXECUTOR_HTTP_TIMEOUT_MS }),
              transformTool,
            ]);
            if (config.EXECUTOR_TOOLS_DIR) await registry.loadDirectory(config.EXECUTOR_TOOLS_DIR);
            return registry;
          },
        },
        ProviderRateLimiter,
        RunCancellationsService,
        StepEventsPublisher,
        ModelStepService,
        ToolStepService,
        StepRunnerService,
      ],
      controllers: [StepWorkHandler],
    };
  }
}
