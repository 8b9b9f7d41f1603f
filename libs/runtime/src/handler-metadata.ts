import type { EventContract, RpcMethod } from '@trellis/contracts';

/** What a consumer's settings may say besides its contract, stream and durable (see `ConsumerOptions`). */
export interface ConsumerSettings {
  /** Handlers in flight at most (default 16). */
  concurrency?: number;
  /** Deliveries before a failing message is dead-lettered (default 5). */
  maxDeliver?: number;
  /** Redelivery delay by delivery count. */
  backoffMs?: readonly number[];
  /** The consumer's ack wait (default 30000). */
  ackWaitMs?: number;
  /**
   * Step work only: one durable per pool, `<durable>-<pool>`, each on `work.step.<pool>`, all
   * served by the one handler.
   */
  pools?: readonly string[];
}

/** `@OnEvent`'s options: where the consumer reads, and its settings. */
export interface OnEventOptions<Config = never> {
  stream: 'events' | 'work';
  /** The durable consumer's name, `<app>-<handler>`; `@OnDeadLetter` names it too. */
  durable: string;
  /**
   * A work queue whose producers offer each message directly first (ADR 0017): the handler
   * also serves `subjects(ns).handoff(queue)`, at most `concurrency` at once, and the queue
   * holds only what no replica took that way.
   */
  handoff?: boolean;
  /**
   * The settings, or a function of the service's parsed config (the one given to
   * `MessagingModule.forService`) for those that the environment sets, e.g. a concurrency.
   */
  settings?: ConsumerSettings | ((config: Config) => ConsumerSettings);
}

// The rest is between the decorators and the transport only.

/** What the transport reads from a handler's extras; set by the decorators (message-handlers.ts) only. */
export type HandlerExtras =
  | { readonly kind: 'event'; readonly contract: EventContract; readonly options: OnEventOptions<unknown> }
  | { readonly kind: 'rpc'; readonly method: RpcMethod }
  | { readonly kind: 'dead-letter' };

/** Nest patterns of the handlers; the transport finds a handler's contract in its extras. */
export const patterns = {
  event: (durable: string) => `jetstream:${durable}`,
  deadLetter: (durable: string) => `jetstream-dead-letter:${durable}`,
  rpc: (method: RpcMethod) => `rpc:${method.service}.${method.method}`,
};
