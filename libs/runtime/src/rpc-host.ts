import { Inject, Injectable } from '@nestjs/common';
import { DomainError, type RpcMethod } from '@trellis/contracts';
import { RpcFailure, serveRpc, type NatsConnection } from '@trellis/messaging';
import type { z } from 'zod';
import { MESSAGING_OPTIONS, NATS, type MessagingOptions } from './tokens';

/**
 * Serves a service's request/reply methods: the request is parsed against the method's
 * contract (by serveRpc), the handler calls one service method, and a DomainError becomes an
 * error reply with its code and issues.
 */
@Injectable()
export class RpcHost {
  constructor(
    @Inject(NATS) private readonly nc: NatsConnection,
    @Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions,
  ) {}

  serve<M extends RpcMethod>(method: M, handler: (request: z.infer<M['request']>) => Promise<z.input<M['response']>>): void {
    serveRpc(this.nc, this.options.namespace, method, async (request) => {
      try {
        return await handler(request);
      } catch (err) {
        if (err instanceof DomainError) throw new RpcFailure(err.code, err.message, err.issues);
        throw err;
      }
    });
  }
}
