import type { ProvisionOptions } from '@trellis/messaging';

/** The service's NATS connection (provider token). */
export const NATS = Symbol('NATS');
export const MESSAGING_OPTIONS = Symbol('MESSAGING_OPTIONS');

export interface MessagingOptions {
  servers: string[];
  /** The service's name: connection name, CloudEvents `source`, RPC queue group. */
  service: string;
  namespace: string;
  shutdownGraceMs: number;
  /** How long an RPC call waits for its reply (default 10 s). */
  rpcTimeoutMs?: number;
  /** Stream settings: replicas, events retention. */
  streams?: ProvisionOptions;
  /** The service's parsed config: what `@OnEvent`'s `settings` functions receive. */
  config?: unknown;
}
