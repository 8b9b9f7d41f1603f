import { Inject, Injectable } from '@nestjs/common';
import { JetStreamApiError } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { subjects } from '@trellis/contracts';
import type { NatsConnection } from '@trellis/messaging';
import { NATS } from '@trellis/runtime';
import { logger } from '@trellis/telemetry';
import { EXECUTOR_CONFIG, type ExecutorConfig } from '../config';
import { tryGrant, type Grant } from './sliding-window';

/** One limit a call must pass: a KV key, its limit per window, and what this call takes. */
export interface LimitRequest {
  /** e.g. `['openai', 'rpm']`, `['openai', '<model>', 'tpm']` (each part encoded into a valid KV key token). */
  key: readonly string[];
  limit: number;
  amount: number;
}

const WINDOW_MS = 60_000;
/** Failures other than a lost race (the KV unreachable) tolerated in a row before the try fails. */
const MAX_ERRORS = 5;

/**
 * Requests- and tokens-per-minute limits shared by every executor replica through a
 * JetStream KV bucket. Each limit is one key holding the grants of the last minute (a
 * sliding log); a grant is a revision-checked update, so two replicas racing for the last
 * slot cannot both win: the loser re-reads and tries again. Within a replica, the calls
 * waiting on one key are granted together, in order, by one loop. A call that finds no room waits
 * here, inside its handler (the consumer keeps the message alive with in-progress acks, and
 * the wait burns no delivery), then asks again. Grants are never returned: a failed call
 * counted against the provider's limit too.
 *
 * Replicas compare their own clocks with the grants' times; keep them in sync (NTP), as for
 * any distributed limiter without a central clock.
 */
@Injectable()
export class ProviderRateLimiter {
  private kv: Promise<KV> | undefined;
  private readonly queues = new Map<string, KeyQueue>();
  private readonly log = logger('executor.rate-limits');

  constructor(
    @Inject(EXECUTOR_CONFIG) private readonly config: ExecutorConfig,
    @Inject(NATS) private readonly nc: NatsConnection,
  ) {}

  /** Resolves once every limit granted its amount; rejects when `signal` aborts. */
  async acquire(limits: readonly LimitRequest[], signal: AbortSignal): Promise<void> {
    for (const limit of limits) await this.acquireOne(limit, signal);
  }

  /**
   * The bucket, created on the first limited call only: an executor without limits leaves
   * no bucket behind. Create-or-open is idempotent, so every replica does it; keys expire
   * once idle for long. A failure is retried on the next call.
   */
  private bucket(): Promise<KV> {
    this.kv ??= new Kvm(this.nc).create(subjects(this.config.TRELLIS_NAMESPACE).buckets.rateLimits, { history: 1, ttl: 10 * WINDOW_MS, replicas: this.config.NATS_STREAM_REPLICAS }).catch((err: unknown) => {
      this.kv = undefined;
      throw err;
    });
    return this.kv;
  }

  /**
   * Queues the request behind the others of this replica for the same key; one loop per key
   * grants as many queued requests as fit in one revision-checked write, so replicas (not
   * every call in flight) race each other for the key.
   */
  private acquireOne(request: LimitRequest, signal: AbortSignal): Promise<void> {
    const key = encodeKey(request.key);
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      let queue = this.queues.get(key);
      if (!queue) this.queues.set(key, (queue = { limit: request.limit, waiters: [], pumping: false }));
      queue.limit = request.limit;
      const waiter: Waiter = { amount: request.amount, resolve, reject };
      const onAbort = () => {
        const i = queue.waiters.indexOf(waiter);
        if (i >= 0) queue.waiters.splice(i, 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      waiter.resolve = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      waiter.reject = (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      };
      queue.waiters.push(waiter);
      if (!queue.pumping) void this.pump(key, queue);
    });
  }

  private async pump(key: string, queue: KeyQueue): Promise<void> {
    queue.pumping = true;
    let conflicts = 0;
    let errors = 0;
    try {
      while (queue.waiters.length) {
        try {
          const kv = await this.bucket();
          const entry = await kv.get(key);
          const stored: Grant[] = entry && entry.operation === 'PUT' && entry.value.length ? (entry.json<Grant[]>() ?? []) : [];
          // First come, first served: grant queued requests in order while they fit.
          const now = Date.now();
          let log = stored;
          const granted: Waiter[] = [];
          let retryInMs = 0;
          for (const w of queue.waiters) {
            const decision = tryGrant(log, now, WINDOW_MS + this.config.EXECUTOR_RATE_LIMIT_MARGIN_MS, queue.limit, w.amount);
            if (!decision.granted) {
              retryInMs = decision.retryInMs;
              break;
            }
            log = decision.grants;
            granted.push(w);
          }
          if (!granted.length) {
            this.log.debug({ limit: key, waiting: queue.waiters.length, retryInMs }, 'rate limit reached; waiting');
            await delay(Math.min(retryInMs, 1_000) + Math.floor(Math.random() * 20));
            continue;
          }
          const value = JSON.stringify(log);
          if (entry) await kv.update(key, value, entry.revision);
          else await kv.create(key, value);
          conflicts = 0;
          errors = 0;
          for (const w of granted) {
            // A waiter that aborted during the write has left the queue already; its grant is spent.
            const i = queue.waiters.indexOf(w);
            if (i < 0) continue;
            queue.waiters.splice(i, 1);
            w.resolve();
          }
        } catch (err) {
          if (!isLostRace(err) && ++errors > MAX_ERRORS) {
            for (const w of queue.waiters.splice(0)) w.reject(err);
            break;
          }
          // Another replica wrote the key first (or the KV hiccuped): read again and recount,
          // backing off a little more each time so replicas on one key spread out.
          conflicts++;
          await delay(Math.floor(Math.random() * Math.min(50, 2 * conflicts)));
        }
      }
    } finally {
      queue.pumping = false;
      if (!queue.waiters.length && this.queues.get(key) === queue) this.queues.delete(key);
    }
  }
}

interface Waiter {
  amount: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface KeyQueue {
  limit: number;
  waiters: Waiter[];
  pumping: boolean;
}

/** JetStream's "wrong last sequence" (10071): the revision we read is no longer the latest. */
function isLostRace(err: unknown): boolean {
  return err instanceof JetStreamApiError ? err.code === 10071 : /wrong last sequence|key exists/i.test(String((err as Error)?.message));
}

/** KV keys allow `[-/_=.a-zA-Z0-9]`; model names may hold anything else (`:` in Ollama tags). */
function encodeKey(parts: readonly string[]): string {
  return parts
    .map((part) => (/^[-_a-zA-Z0-9]+$/.test(part) ? part : `=${Buffer.from(part).toString('base64url')}`))
    .join('.');
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
