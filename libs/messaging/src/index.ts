// The public surface of @trellis/messaging: JetStream streams and consumers, the consumer
// runner, event publishing, the outbox relay and request/reply. Named exports only.
export { connectNats, drainNats, type ConnectNatsOptions } from './connection';
// Re-exported so that apps type their connection without depending on the NATS client.
export type { NatsConnection } from '@nats-io/transport-node';
export type { PubAck } from '@nats-io/jetstream';
export { provisionStreams, ensureConsumer, deleteNamespace, streamConfigs, type ProvisionOptions, type ConsumerSpec } from './provisioning';
export { encodeEvent, encodeBuilt, decodeEvent, type EncodeEventOptions, type EncodedEvent, type DecodedEvent, type UndecodableEvent } from './event-encoding';
export { EventPublisher, type PublishEventOptions, type PublishRawOptions } from './event-publisher';
export { RetryableError, NonRetryableError, type HandlerErrorOptions } from './errors';
export { settleFailure, DEFAULT_BACKOFF_MS, DEFAULT_MAX_DELIVER, type RetryPolicy, type FailureSettlement } from './retry-policy';
export { ConsumerRunner, startConsumer } from './consumer-runner';
export type { ConsumerOptions, ConsumerHandle, MessageContext, MessageHandler } from './consumer-options';
export { namespaceOfSubject, type DeadLetterInfo } from './dead-letter';
export { DeadLetterHeaders, CLOUDEVENTS_CONTENT_TYPE, traceHeaders } from './headers';
export { OutboxRelay, type OutboxStore, type OutboxRelayOptions } from './outbox-relay';
export { serveRpc, type RpcEndpoint, type RpcHandler, type RpcRequestContext } from './rpc-server';
export { RpcClient, type RpcCallOptions } from './rpc-client';
export { RpcFailure, RpcCallError } from './rpc-errors';
export { toIssues, formatIssues } from './issues';
