// The public surface of @trellis/testing: helpers for integration and system tests: isolated
// namespaces, the test platform, waiting on conditions, API and stream clients, process control.

export { testEnv } from './env';
export { uniqueToken, createTestDatabase, createTestNamespace } from './isolation';
export { waitFor } from './wait-for';
export { ApiClient } from './api-client';
export type { ApiResponse } from './api-client';
export { REPO_ROOT, startTestPlatform } from './test-platform';
export type { TestPlatformOptions, TestPlatform } from './test-platform';
export { NatsServerProcess, startNatsServer, startNatsCluster } from './nats-server';
export type { NatsCluster } from './nats-server';
export { streamMessages } from './stream-messages';
export { modelCalls } from './model-calls';
export { rpcError } from './rpc-error';
export { runProcess } from './run-process';
export type { ProcessResult } from './run-process';
export { startBrowser } from './browser';
export type { TestBrowser } from './browser';
