import { randomBytes } from 'node:crypto';
import { ROOT_CONTEXT, trace, TraceFlags, type Context } from '@opentelemetry/api';
import { shutdownTelemetry, startTelemetry, withSpan } from './tracing';

/** A context as a message from another process brings it: its traceparent, sampled or not. */
const remote = (flags: TraceFlags): Context => trace.setSpanContext(ROOT_CONTEXT, { traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex'), traceFlags: flags, isRemote: true });

describe('withSpan when nothing exports', () => {
  beforeAll(() => startTelemetry('telemetry-test', {}));
  afterAll(() => shutdownTelemetry());

  it('gives a message from another process a span of its own in the same trace, and runs what it does inside in that span', async () => {
    const parent = remote(TraceFlags.NONE);
    const [outer, inner] = await withSpan('consume', { parent }, async (span) => [span, await withSpan('publish', {}, async (s) => s)] as const);
    expect(outer.spanContext().traceId).toBe(trace.getSpanContext(parent)!.traceId);
    expect(outer.spanContext().spanId).not.toBe(trace.getSpanContext(parent)!.spanId);
    expect(outer.isRecording()).toBe(false);
    // Unsampled, so it could never be recorded: no second span, the trace and the ids stay the message's span's.
    expect(inner).toBe(outer);
  });

  it('still makes every span of a sampled trace (a caller that records asked for it)', async () => {
    const [outer, inner] = await withSpan('consume', { parent: remote(TraceFlags.SAMPLED) }, async (span) => [span, await withSpan('publish', {}, async (s) => s)] as const);
    expect(inner).not.toBe(outer);
    expect(inner.spanContext().traceId).toBe(outer.spanContext().traceId);
    expect(inner.spanContext().spanId).not.toBe(outer.spanContext().spanId);
  });
});
