// The public surface of @trellis/devstack: starting and probing the local platform (Postgres, NATS,
// the simulator and the services) for the CLI, the tests and the bench.

export { isListening, freePort, freePorts } from './probe';
export { findOrStartInfrastructure } from './infrastructure';
export type { Infrastructure } from './infrastructure';
export { ServiceProcess } from './service-process';
export { serviceScript, Platform, hermeticEnv } from './platform';
export type { PlatformOptions } from './platform';
