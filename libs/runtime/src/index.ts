// The public surface of @trellis/runtime: what every service's Nest app shares: env parsing,
// bootstrap, health checks, the messaging and database modules, and the handler decorators
// (OnEvent, OnDeadLetter, OnRpc) of its JetStream transport.

export { parseEnv, CommonEnv, DatabaseEnv } from './env';
// HealthController: for the gateway, which describes the health routes in its OpenAPI document.
export { HealthChecks, HealthController } from './health';
export { bootstrapService, runService } from './bootstrap';
export { RuntimeModule } from './runtime.module';
export { NATS } from './tokens';
export { MessagingModule } from './messaging.module';
export { DatabaseModule } from './database.module';
export { OnEvent, OnDeadLetter, OnRpc } from './message-handlers';
export type { RpcRequest } from './message-handlers';
export type { OnEventOptions } from './handler-metadata';
