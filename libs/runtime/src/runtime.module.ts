import { Global, Module } from '@nestjs/common';
import { HealthChecks, HealthController } from './health';

/** `/healthz`, `/readyz` and the readiness registry every service module reports into. */
@Global()
@Module({ controllers: [HealthController], providers: [HealthChecks], exports: [HealthChecks] })
export class RuntimeModule {}
