import { randomBytes } from 'node:crypto';
import { ROOT_CONTEXT, context, trace } from '@opentelemetry/api';
import { z } from 'zod';
import { RpcCallError, RpcClient, RpcFailure, serveRpc, type NatsConnection, type RpcEndpoint } from '@trellis/messaging';
import { shutdownTelemetry, startTelemetry } from '@trellis/telemetry';
import { connect, gate, quietLogs, testNamespace } from './nats-test-kit';

const PlaceOrder = {
  service: 'shop',
  method: 'orders.place',
  request: z.object({ customer: z.string().min(1), items: z.array(z.object({ sku: z.string(), qty: z.number().int().positive() })).min(1) }),
  response: z.object({ orderId: z.string(), total: z.number() }),
};

describe('request/reply', () => {
  let nc: NatsConnection;
  let client: RpcClient;
  const ns = testNamespace('trpc');
  const endpoints: RpcEndpoint[] = [];
  const serve = (handler: Parameters<typeof serveRpc<typeof PlaceOrder>>[3]) => {
    const endpoint = serveRpc(nc, ns, PlaceOrder, handler);
    endpoints.push(endpoint);
    return endpoint;
  };
  const callError = async (promise: Promise<unknown>): Promise<RpcCallError> => {
    const err = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RpcCallError);
    return err as RpcCallError;
  };
  const order = { customer: 'ada', items: [{ sku: 'tea', qty: 2 }] };

  beforeAll(async () => {
    startTelemetry('messaging-test', {});
    quietLogs();
    nc = await connect('messaging-rpc-test');
    client = new RpcClient(nc, ns);
  });

  afterEach(async () => {
    await Promise.all(endpoints.splice(0).map((e) => e.stop()));
  });

  afterAll(async () => {
    await nc.close();
    await shutdownTelemetry();
  });

  it("answers a valid request with the handler's data and carries the caller's trace", async () => {
    const seen: Array<{ request: unknown; traceparent: string | undefined; activeTraceId: string | undefined }> = [];
    serve(async (request, ctx) => {
      seen.push({ request, traceparent: ctx.headers.traceparent, activeTraceId: trace.getActiveSpan()?.spanContext().traceId });
      return { orderId: 'o-1', total: request.items.reduce((sum, i) => sum + i.qty, 0) };
    });
    const traceId = randomBytes(16).toString('hex');
    const parent = trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: randomBytes(8).toString('hex'), traceFlags: 1 });

    const reply = await context.with(parent, () => client.call(PlaceOrder, order));

    expect(reply).toEqual({ orderId: 'o-1', total: 2 });
    expect(seen).toEqual([{ request: order, traceparent: expect.stringContaining(traceId), activeTraceId: traceId }]);
  });

  it('rejects an invalid request listing every issue with its path, without calling the handler', async () => {
    let calls = 0;
    serve(async () => {
      calls++;
      return { orderId: 'o', total: 0 };
    });

    const err = await callError(client.call(PlaceOrder, { customer: '', items: [{ sku: 'tea', qty: 0 }, { sku: 3, qty: 1 }] } as never));

    expect(err.code).toBe('invalid_argument');
    expect(err.issues?.map((i) => i.path)).toEqual([['customer'], ['items', 0, 'qty'], ['items', 1, 'sku']]);
    expect(err.issues?.every((i) => i.message.length > 0)).toBe(true);
    expect(calls).toBe(0);
  });

  it("returns an RpcFailure's code, message and issues", async () => {
    serve(async () => {
      throw new RpcFailure('failed_precondition', 'tea is out of stock', [{ path: ['items', 0, 'sku'], message: 'out of stock' }]);
    });

    const err = await callError(client.call(PlaceOrder, order));

    expect(err).toMatchObject({ code: 'failed_precondition', message: 'tea is out of stock', method: 'shop.orders.place', issues: [{ path: ['items', 0, 'sku'], message: 'out of stock' }] });
  });

  it('hides an unexpected error behind a generic internal error, and keeps serving', async () => {
    let calls = 0;
    serve(async () => {
      if (++calls === 1) throw new Error('password authentication failed for user "shop"');
      return { orderId: 'o-2', total: 1 };
    });

    const err = await callError(client.call(PlaceOrder, order));

    expect(err.code).toBe('internal');
    expect(err.message).not.toContain('password');
    await expect(client.call(PlaceOrder, order)).resolves.toEqual({ orderId: 'o-2', total: 1 });
  });

  it('fails the call as internal when the handler returns data that does not fit the response contract', async () => {
    serve(async () => ({ orderId: 42 }) as never);

    expect((await callError(client.call(PlaceOrder, order))).code).toBe('internal');
  });

  it('reports unavailable at once when nobody serves the method', async () => {
    const startedAt = Date.now();

    const err = await callError(client.call(PlaceOrder, order, { timeoutMs: 5_000 }));

    expect(err.code).toBe('unavailable');
    expect(Date.now() - startedAt).toBeLessThan(1_000);
  });

  it('reports unavailable when the reply does not come in time', async () => {
    const hold = gate();
    serve(async () => {
      await hold.promise;
      return { orderId: 'late', total: 0 };
    });

    const err = await callError(client.call(PlaceOrder, order, { timeoutMs: 300 }));

    expect(err.code).toBe('unavailable');
    expect(err.message).toMatch(/no reply within 300 ms/);
    hold.open();
  });

  it('shares requests among the replicas of a service', async () => {
    const served = { a: 0, b: 0 };
    serve(async () => {
      served.a++;
      return { orderId: 'a', total: 0 };
    });
    serve(async () => {
      served.b++;
      return { orderId: 'b', total: 0 };
    });

    await Promise.all(Array.from({ length: 40 }, () => client.call(PlaceOrder, order)));

    expect(served.a + served.b).toBe(40);
    expect(served.a).toBeGreaterThan(0);
    expect(served.b).toBeGreaterThan(0);
  });
});
