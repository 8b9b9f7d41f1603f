import { Module, type DynamicModule } from '@nestjs/common';
import { ModelCatalog, ProviderRegistry } from '@trellis/llm';
import { MessagingModule } from '@trellis/runtime';
import { VERIFIER_CONFIG, type VerifierConfig } from './config';
import { JUDGE_PROVIDERS, JudgeGate } from './verification/judge.gate';
import { SchemaGate } from './verification/schema.gate';
import { VerificationService } from './verification/verification.service';
import { VerifyWorkHandler } from './verification/verify-work.handler';

@Module({})
export class VerifierModule {
  static forRoot(config: VerifierConfig): DynamicModule {
    return {
      module: VerifierModule,
      imports: [MessagingModule.forService('verifier', config)],
      providers: [
        { provide: VERIFIER_CONFIG, useValue: config },
        {
          // null without OPENAI_BASE_URL: judge gates then fail their step with a message naming it.
          provide: JUDGE_PROVIDERS,
          useFactory: () =>
            config.OPENAI_BASE_URL
              ? new ProviderRegistry({
                  defaultProvider: { baseURL: config.OPENAI_BASE_URL, apiKey: config.OPENAI_API_KEY, timeoutMs: config.JUDGE_TIMEOUT_MS },
                  providers: config.providers,
                  ...(config.providersFile ? { catalog: new ModelCatalog(config.providersFile) } : {}),
                })
              : null,
        },
        JudgeGate,
        SchemaGate,
        VerificationService,
      ],
      controllers: [VerifyWorkHandler],
    };
  }
}
