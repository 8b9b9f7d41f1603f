import type { z } from 'zod';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { SpanStatusCode } from '@opentelemetry/api';
import { subjects, type RpcError, type RpcMethod, type RpcReply } from '@trellis/contracts';
import { SpanKind, extractTraceContext, logger, withSpan } from '@trellis/telemetry';
import { headerCarrier, headersToRecord } from './headers';
import { formatIssues, toIssues } from './issues';
import { RpcFailure } from './rpc-errors';

/** What an RPC handler knows besides the request. */
export interface RpcRequestContext {
  headers: Readonly<Record<string, string>>;
}

/** Answers one method: resolve with the response data, or throw an {@link RpcFailure}. */
export type RpcHandler<M extends RpcMethod> = (request: z.output<M['request']>, ctx: RpcRequestContext) => Promise<z.input<M['response']>>;

/** A method being served. */
export interface RpcEndpoint {
  readonly subject: string;
  /** Stops taking requests and waits for the ones being handled to be answered. */
  stop(): Promise<void>;
}

const encoder = new TextEncoder();

/**
 * Serves one request/reply method on core NATS: subject `subjects(ns).rpc(service, method)`,
 * queue group = the service, so replicas share the load. The request is validated against
 * the method's schema (every issue, with its path, comes back as `invalid_argument`); the
 * handler's result is validated by the caller, where it enters. An {@link RpcFailure} becomes its error;
 * anything else `internal` with a generic message, logged here. The caller's trace context
 * is the parent of a SERVER span. A handler can never crash the service.
 */
export function serveRpc<M extends RpcMethod>(nc: NatsConnection, ns: string, method: M, handler: RpcHandler<M>): RpcEndpoint {
  const subject = subjects(ns).rpc(method.service, method.method);
  const name = `${method.service}.${method.method}`;
  const log = logger('messaging.rpc').child({ rpc: name });
  const inFlight = new Set<Promise<void>>();

  const answer = async (msg: Msg): Promise<void> => {
    const reply = await withSpan(
      `${name} serve`,
      {
        kind: SpanKind.SERVER,
        parent: extractTraceContext(headerCarrier(msg.headers)),
        attributes: { 'rpc.system': 'nats', 'rpc.service': method.service, 'rpc.method': method.method },
      },
      async (span): Promise<RpcReply<unknown>> => {
        const result = await handle(msg);
        if (!result.ok && result.error.code === 'internal') span.setStatus({ code: SpanStatusCode.ERROR, message: result.error.message });
        return result;
      },
    );
    if (msg.reply) msg.respond(encoder.encode(JSON.stringify(reply)));
  };

  const handle = async (msg: Msg): Promise<RpcReply<unknown>> => {
    let body: unknown;
    try {
      body = msg.data.length ? JSON.parse(msg.string()) : undefined;
    } catch (err) {
      return failure({ code: 'invalid_argument', message: `request is not JSON: ${(err as Error).message}` });
    }
    const request = method.request.safeParse(body);
    if (!request.success) {
      const issues = toIssues(request.error);
      return failure({ code: 'invalid_argument', message: `invalid ${name} request: ${formatIssues(issues)}`, issues });
    }
    try {
      // The response is validated once, where it enters the caller (the RPC client): here it is
      // data this process built from validated data.
      return { ok: true, data: await handler(request.data as z.output<M['request']>, { headers: headersToRecord(msg.headers) }) };
    } catch (err) {
      if (err instanceof RpcFailure) return failure(err.toRpcError());
      log.error({ err }, 'rpc handler failed');
      return failure({ code: 'internal', message: 'internal error' });
    }
  };

  const sub = nc.subscribe(subject, {
    queue: method.service,
    callback: (err, msg) => {
      if (err) {
        log.error({ err }, 'rpc subscription failed');
        return;
      }
      const p = answer(msg)
        .catch((e: unknown) => log.error({ err: e }, 'could not answer an rpc request'))
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    },
  });

  return {
    subject,
    async stop() {
      if (!sub.isClosed()) await sub.drain().catch(() => undefined);
      await Promise.allSettled([...inFlight]);
    },
  };
}

function failure(error: RpcError): RpcReply<never> {
  return { ok: false, error };
}
