import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestPlatform, waitFor, type TestPlatform } from '@trellis/testing';

interface CollectedSpan {
  service: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
}

/** A minimal OTLP/HTTP JSON trace receiver: what a collector would see from each service. */
async function startCollector(): Promise<{ url: string; spans: CollectedSpan[]; close(): Promise<void> }> {
  const spans: CollectedSpan[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const payload = JSON.parse(body) as {
          resourceSpans: Array<{
            resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
            scopeSpans: Array<{ spans: Array<{ name: string; traceId: string; spanId: string; parentSpanId?: string }> }>;
          }>;
        };
        for (const rs of payload.resourceSpans ?? []) {
          const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '?';
          for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) spans.push({ service, ...s });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe('tracing', () => {
  let ctx: TestPlatform;
  let collector: Awaited<ReturnType<typeof startCollector>>;

  beforeAll(async () => {
    collector = await startCollector();
    ctx = await startTestPlatform({
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
    });
  }, 60_000);
  afterAll(async () => {
    await ctx?.stop();
    await collector?.close();
  }, 60_000);

  it('makes one trace of a run, across the gateway, planner and executor', async () => {
    const started = await ctx.api.post('/v1/runs', {
      spec: { version: 1, name: 'traced', steps: { a: { prompt: 'first' }, b: { prompt: 'then {{ steps.a.output }}', depends_on: ['a'] } } },
    });
    expect(started.status).toBe(202);
    expect((await ctx.api.waitForRun(started.body.id)).status).toBe('succeeded');

    const trace = await waitFor('spans of the run from every service', () => {
      const start = collector.spans.find((s) => s.service === 'gateway' && s.name.includes('runs.start'));
      if (!start) return undefined;
      const inTrace = collector.spans.filter((s) => s.traceId === start.traceId);
      const modelCalls = inTrace.filter((s) => s.service === 'executor' && s.name.startsWith('chat '));
      const plannerSpans = inTrace.filter((s) => s.service === 'planner');
      // Spans arrive in batches from each process, in no particular order: wait until both model
      // calls and the planner applying both results have been exported, and every parent with them
      // (a planner span can arrive before the executor's batch holding its parent).
      const ids = new Set(inTrace.map((s) => s.spanId));
      const complete = inTrace.every((s) => !s.parentSpanId || ids.has(s.parentSpanId));
      return modelCalls.length >= 2 && plannerSpans.length >= 3 && complete ? inTrace : undefined;
    });
    // Both steps' model calls, and the planner applying both results, hang off the same trace.
    expect(trace.filter((s) => s.service === 'executor' && s.name.startsWith('chat ')).length).toBe(2);
    expect(trace.filter((s) => s.service === 'planner').length).toBeGreaterThanOrEqual(3);
    // Every span but the root has its parent in the trace.
    const ids = new Set(trace.map((s) => s.spanId));
    const orphans = trace.filter((s) => s.parentSpanId && !ids.has(s.parentSpanId));
    expect(orphans).toEqual([]);
  });
});
