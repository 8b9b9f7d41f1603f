// The public surface of @trellis/messaging: JetStream streams and consumers, the consumer
// runner, event publishing, the outbox relay and request/reply. Named exports only.

export { connectNats, drainNats } from './connection';
// Re-exported so that apps type their connection without depending on the NATS client.
export type { NatsConnection } from '@nats-io/transport-node';
export type { PubAck } from '@nats-io/jetstream';
export { provisionStreams, ensureConsumer, deleteNamespace, retireConsumers } from './provisioning';
export type { ProvisionOptions } from './provisioning';
export { encodeEvent, encodeBuilt, decodeEvent } from './event-encoding';
export { EventPublisher } from './event-publisher';
export type { HandOffOptions } from './event-publisher';
export { serveHandoff, HANDOFF_DONE, HANDOFF_DECLINED } from './handoff';
export type { HandoffEndpoint } from './handoff';
export { RetryableError, NonRetryableError } from './errors';
export { ConsumerRunner, startConsumer } from './consumer-runner';
export type { MessageContext, ConsumerOptions, ConsumerHandle } from './consumer-options';
export type { DeadLetterInfo } from './dead-letter';
export { DeadLetterHeaders, traceHeaders } from './headers';
export { OutboxRelay } from './outbox-relay';
export type { OutboxStore } from './outbox-relay';
export { serveRpc } from './rpc-server';
export type { RpcEndpoint } from './rpc-server';
export { RpcClient } from './rpc-client';
export { RpcFailure, RpcCallError } from './rpc-errors';
export { toIssues, formatIssues } from './issues';
