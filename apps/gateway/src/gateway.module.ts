import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR } from '@nestjs/core';
import { DatabaseModule, MessagingModule, RuntimeModule } from '@trellis/runtime';
import { AdminOrApiKeyGuard, AuditController } from './audit/audit.controller';
import { AuditInterceptor } from './audit/audit.interceptor';
import { AuditRepository } from './audit/audit.repository';
import { GATEWAY_CONFIG, type GatewayConfig } from './config';
import { AdminGuard } from './http/admin.guard';
import { ApiKeyGuard } from './http/api-key.guard';
import { ProblemFilter } from './http/problem.filter';
import { RequestRateLimiter } from './http/request-rate-limiter';
import { GATEWAY_MIGRATIONS } from './migrations/initial.migration';
import { ExperimentsController } from './experiments/experiments.controller';
import { DocumentedHealthController } from './health/health-routes';
import { UpstreamReadiness } from './health/upstream-readiness';
import { ChatCompletionsService } from './openai/chat-completions.service';
import { OpenAiController } from './openai/openai.controller';
import { OpenApiController } from './openapi/openapi.controller';
import { OPENAPI_DOCUMENT, openApiDocument } from './openapi/openapi.document';
import { PipelinesController } from './pipelines/pipelines.controller';
import { ProjectRepository } from './projects/project.repository';
import { ProjectService } from './projects/project.service';
import { ProjectsController } from './projects/projects.controller';
import { UsageController } from './projects/usage.controller';
import { IdempotencyRepository } from './runs/idempotency.repository';
import { ProductsService } from './runs/products.service';
import { RunEventFeed } from './runs/run-event-feed';
import { RunEventsService } from './runs/run-events.service';
import { RunStarterService } from './runs/run-starter.service';
import { RunsController } from './runs/runs.controller';
import { AdminToken } from './templates/admin-token';
import { TemplatesController } from './templates/templates.controller';

/**
 * Every controller of the gateway, in the order docs/openapi.json lists their routes;
 * audited-routes.spec.ts checks that each non-GET route is audited.
 */
export const GATEWAY_CONTROLLERS = [
  ProjectsController,
  UsageController,
  PipelinesController,
  RunsController,
  OpenAiController,
  AuditController,
  OpenApiController,
  TemplatesController,
  ExperimentsController,
];

/** Every controller whose routes the gateway serves, RuntimeModule's health routes included: the OpenAPI document's routes. */
export const SERVED_CONTROLLERS = [...GATEWAY_CONTROLLERS, DocumentedHealthController];

@Module({})
export class GatewayModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        RuntimeModule,
        MessagingModule.forService('gateway', config, { rpcTimeoutMs: config.GATEWAY_RPC_TIMEOUT_MS }),
        DatabaseModule.forRoot({
          url: config.DATABASE_URL,
          schema: 'gateway',
          poolSize: config.DATABASE_POOL_SIZE,
          entities: [],
          migrations: GATEWAY_MIGRATIONS,
        }),
      ],
      controllers: GATEWAY_CONTROLLERS,
      providers: [
        { provide: GATEWAY_CONFIG, useValue: config },
        { provide: OPENAPI_DOCUMENT, useFactory: () => openApiDocument(SERVED_CONTROLLERS) },
        { provide: APP_FILTER, useClass: ProblemFilter },
        { provide: APP_INTERCEPTOR, useClass: AuditInterceptor },
        ApiKeyGuard,
        AdminGuard,
        AdminOrApiKeyGuard,
        AuditRepository,
        AdminToken,
        RequestRateLimiter,
        ProjectRepository,
        ProjectService,
        IdempotencyRepository,
        RunStarterService,
        RunEventFeed,
        RunEventsService,
        ProductsService,
        ChatCompletionsService,
        UpstreamReadiness,
      ],
    };
  }
}
