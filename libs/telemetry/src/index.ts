// The public surface of @trellis/telemetry: structured logging and OpenTelemetry tracing and metrics.

export { configureLogger, logger } from './logger';
export type { Logger } from './logger';
export { SpanKind, startTelemetry, shutdownTelemetry, injectTraceContext, extractTraceContext, withSpan } from './tracing';
export type { Span, HeaderCarrier } from './tracing';
