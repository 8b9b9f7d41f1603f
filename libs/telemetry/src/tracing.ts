import { NodeSDK } from '@opentelemetry/sdk-node';
import { AlwaysOffSampler, NoopSpanProcessor, ParentBasedSampler } from '@opentelemetry/sdk-trace';
import {
  context,
  propagation,
  trace,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';

export { SpanKind } from '@opentelemetry/api';
export type { Span, Context, Attributes } from '@opentelemetry/api';

let sdk: NodeSDK | undefined;
/** Whether a span's parent alone decides its sampling (OpenTelemetry's parent-based samplers): then an unsampled parent's child is never recorded. */
let parentDecides = false;

/**
 * Starts the OpenTelemetry SDK for one service (`service.name` = the app). Exporters come
 * from the standard `OTEL_*` variables; when none is named and no OTLP endpoint is set,
 * nothing is exported (rather than retrying a collector that is not there) and nothing is
 * recorded, but trace ids and context propagation still work, so a run is one trace the
 * moment an exporter is set.
 */
export function startTelemetry(serviceName: string, env: Readonly<Record<string, string | undefined>>): void {
  if (sdk) return;
  const hasEndpoint = Object.keys(env).some((k) => k.startsWith('OTEL_EXPORTER_OTLP_') && k.endsWith('ENDPOINT'));
  const exportsTraces = hasEndpoint || (!!env.OTEL_TRACES_EXPORTER && env.OTEL_TRACES_EXPORTER !== 'none');
  for (const signal of ['OTEL_METRICS_EXPORTER', 'OTEL_LOGS_EXPORTER']) {
    if (!env[signal] && !hasEndpoint) process.env[signal] = 'none';
  }
  // Without an exporter the SDK would install no tracer provider at all, and trace ids would
  // vanish from logs and from the headers other services continue. A provider whose own root
  // spans are not sampled keeps real ids and propagation while recording nothing
  // (non-recording spans keep no attributes, events or timing): the head of a trace decides
  // (OpenTelemetry's parent-based sampling), so a caller's sampled trace still goes through.
  // OTEL_TRACES_SAMPLER, when set, is the user's choice.
  const silent = { spanProcessors: [new NoopSpanProcessor()], ...(env.OTEL_TRACES_SAMPLER ? {} : { sampler: new ParentBasedSampler({ root: new AlwaysOffSampler() }) }) };
  // The SDK's default sampler is parent-based too (`parentbased_always_on`).
  parentDecides = !env.OTEL_TRACES_SAMPLER || env.OTEL_TRACES_SAMPLER.startsWith('parentbased_');
  sdk = new NodeSDK({ serviceName, ...(exportsTraces ? {} : silent) });
  sdk.start();
}

export async function shutdownTelemetry(): Promise<void> {
  await sdk?.shutdown().catch(() => undefined);
  sdk = undefined;
}

export function tracer(name = 'trellis') {
  return trace.getTracer(name);
}

/** Header carrier that works with NATS `MsgHdrs` and plain records alike. */
export interface HeaderCarrier {
  get(key: string): string | undefined | null;
  set(key: string, value: string): void;
}

/** Writes the active context's `traceparent`/`tracestate` into message headers. */
export function injectTraceContext(headers: HeaderCarrier, ctx: Context = context.active()): void {
  propagation.inject(ctx, headers, {
    set: (carrier, key, value) => carrier.set(key, value),
  });
}

/** Reads `traceparent`/`tracestate` from message headers into a parent context. */
export function extractTraceContext(headers: HeaderCarrier | undefined): Context {
  if (!headers) return context.active();
  return propagation.extract(context.active(), headers, {
    get: (carrier, key) => carrier.get(key) ?? undefined,
    keys: () => ['traceparent', 'tracestate'],
  });
}

/**
 * Runs `fn` inside a span (child of `parent` or the active context), records an exception
 * and an error status on failure, and always ends the span.
 *
 * A span within the process whose parent is not sampled would be a non-recording span under a
 * parent-based sampler: then `fn` runs in the parent's span instead, at no cost (the trace id,
 * the logs' ids and what is propagated stay those of the parent). Spans that start from another
 * process (`parent` given) are always made: each service keeps a span id of its own.
 */
export async function withSpan<T>(
  name: string,
  options: { kind?: SpanKind; attributes?: Attributes; parent?: Context },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  if (!options.parent && parentDecides) {
    const current = trace.getActiveSpan();
    if (current && !current.isRecording() && (current.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return fn(current);
  }
  const parent = options.parent ?? context.active();
  const span = tracer().startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
    throw err;
  } finally {
    span.end();
  }
}
