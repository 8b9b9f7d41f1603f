import type { z } from 'zod';
import { RequestError, TimeoutError, NoRespondersError, headers as createHeaders, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { rpcReply, subjects, type RpcMethod } from '@trellis/contracts';
import { SpanKind, injectTraceContext, withSpan } from '@trellis/telemetry';
import { headerCarrier } from './headers';
import { formatIssues, toIssues } from './issues';
import { RpcCallError } from './rpc-errors';

/** Per-call options. */
export interface RpcCallOptions {
  /** How long to wait for the reply. Default 10000. */
  timeoutMs?: number;
}

/**
 * Calls request/reply methods served by {@link serveRpc} in one namespace. Resolves with the
 * validated response data; throws {@link RpcCallError} with the server's error code, or
 * `unavailable` when no replica answered.
 */
export class RpcClient {
  constructor(
    private readonly nc: NatsConnection,
    private readonly ns: string,
    /** Defaults for every call of this client (a per-call option wins). */
    private readonly defaults: RpcCallOptions = {},
  ) {
    subjects(ns); // validates the namespace now rather than at the first call
  }

  async call<M extends RpcMethod>(method: M, request: z.input<M['request']>, options: RpcCallOptions = {}): Promise<z.output<M['response']>> {
    const name = `${method.service}.${method.method}`;
    const timeoutMs = options.timeoutMs ?? this.defaults.timeoutMs ?? 10_000;
    const subject = subjects(this.ns).rpc(method.service, method.method);
    return withSpan(
      `${name} call`,
      { kind: SpanKind.CLIENT, attributes: { 'rpc.system': 'nats', 'rpc.service': method.service, 'rpc.method': method.method } },
      async () => {
        const h = createHeaders();
        injectTraceContext(headerCarrier(h)!);
        let msg: Msg;
        try {
          msg = await this.nc.request(subject, JSON.stringify(request), { timeout: timeoutMs, headers: h });
        } catch (err) {
          throw unavailable(err, name, method.service, timeoutMs);
        }
        let json: unknown;
        try {
          json = JSON.parse(msg.string());
        } catch (err) {
          throw new RpcCallError('internal', `reply of ${name} is not JSON`, undefined, name, { cause: err });
        }
        const reply = rpcReply(method.response).safeParse(json);
        if (!reply.success) {
          const issues = toIssues(reply.error);
          throw new RpcCallError('internal', `reply of ${name} does not fit its contract: ${formatIssues(issues)}`, issues, name);
        }
        if (!reply.data.ok) {
          const { code, message, issues } = reply.data.error;
          throw new RpcCallError(code, message, issues, name);
        }
        return reply.data.data as z.output<M['response']>;
      },
    );
  }
}

function unavailable(err: unknown, name: string, service: string, timeoutMs: number): RpcCallError {
  if (err instanceof TimeoutError) {
    return new RpcCallError('unavailable', `${name}: no reply within ${timeoutMs} ms`, undefined, name, { cause: err });
  }
  if (err instanceof NoRespondersError || (err instanceof RequestError && err.isNoResponders())) {
    return new RpcCallError('unavailable', `${name}: no ${service} is answering (starting, or down)`, undefined, name, { cause: err });
  }
  return new RpcCallError('unavailable', `${name}: request failed: ${(err as Error)?.message ?? String(err)}`, undefined, name, { cause: err });
}
