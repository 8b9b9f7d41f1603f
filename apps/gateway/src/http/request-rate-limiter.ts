import { Inject, Injectable } from '@nestjs/common';
import { Kvm, type KV } from '@nats-io/kv';
import { subjects } from '@trellis/contracts';
import type { NatsConnection } from '@trellis/messaging';
import { NATS } from '@trellis/runtime';
import { logger } from '@trellis/telemetry';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config';

/** A key's token bucket: what is left, as of when. */
export interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * One request against a per-minute allowance: a key may burst its whole allowance, then gets
 * one request every 60/limit seconds. Answers the bucket after it, and 0 when allowed, else
 * the seconds until a token is available. Pure.
 */
export function takeToken(bucket: Bucket | undefined, perMinute: number, now: number): { bucket: Bucket; wait: number } {
  const ratePerMs = perMinute / 60_000;
  const current = bucket ?? { tokens: perMinute, updatedAt: now };
  const tokens = Math.min(perMinute, current.tokens + Math.max(0, now - current.updatedAt) * ratePerMs);
  if (tokens >= 1) return { bucket: { tokens: tokens - 1, updatedAt: now }, wait: 0 };
  return { bucket: { tokens, updatedAt: now }, wait: Math.max(1, Math.ceil((1 - tokens) / ratePerMs / 1000)) };
}

/** Revision conflicts (another replica wrote the same key first) tolerated before failing open. */
const MAX_RACES = 8;
/** A key idle this long has a full bucket again: its entry can go. */
const IDLE_MS = 2 * 60_000;

/**
 * The per-key request rate limit, shared by every gateway replica (ADR 0014): each key's bucket
 * is one entry of a JetStream KV bucket, updated with a revision check, so replicas racing for
 * the last token cannot both take it (the loser reads again). If the KV cannot be reached, the
 * request is let through and a warning logged: the limit protects capacity, and NATS being away
 * is already a fault the platform reports; refusing every request for it would be a second one.
 */
@Injectable()
export class RequestRateLimiter {
  private kv: Promise<KV> | undefined;
  private readonly queues = new Map<string, KeyQueue>();
  private readonly log = logger('gateway.rate-limit');
  /** The clock; a test may replace it. */
  now: () => number = Date.now;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(NATS) private readonly nc: NatsConnection,
  ) {}

  /** Takes one token of `key`; answers 0 when allowed, else the seconds until one is available. */
  take(key: string, perMinute: number): Promise<number> {
    return new Promise<number>((resolve) => {
      let queue = this.queues.get(key);
      if (!queue) this.queues.set(key, (queue = { waiting: [], pumping: false }));
      queue.waiting.push({ perMinute, resolve });
      if (!queue.pumping) void this.pump(key, queue);
    });
  }

  /**
   * One loop per key in this replica: the requests waiting on the key are decided together, in
   * order, with one read and one revision-checked write of its bucket, so a burst from one key
   * costs a few KV round trips and replicas (not every request in flight) race for the key.
   */
  private async pump(key: string, queue: KeyQueue): Promise<void> {
    queue.pumping = true;
    try {
      while (queue.waiting.length) {
        const batch = queue.waiting.splice(0);
        const waits = await this.decide(key, batch.map((w) => w.perMinute));
        batch.forEach((w, i) => w.resolve(waits[i] ?? 0));
      }
    } finally {
      queue.pumping = false;
      if (!queue.waiting.length) this.queues.delete(key);
    }
  }

  /** The waits of `requests` taken in order from the key's bucket, written back once. */
  private async decide(key: string, requests: readonly number[]): Promise<number[]> {
    try {
      const kv = await this.bucket();
      for (let race = 0; race < MAX_RACES; race++) {
        const entry = await kv.get(key);
        let bucket = entry && entry.operation === 'PUT' && entry.length ? (entry.json<Bucket>() as Bucket) : undefined;
        const now = this.now();
        const waits = requests.map((perMinute) => {
          const taken = takeToken(bucket, perMinute, now);
          bucket = taken.bucket;
          return taken.wait;
        });
        if (waits.every((w) => w > 0)) return waits;
        try {
          if (entry && entry.operation === 'PUT') await kv.update(key, JSON.stringify(bucket), entry.revision);
          else await kv.create(key, JSON.stringify(bucket));
          return waits;
        } catch (err) {
          if (!isRevisionConflict(err)) throw err;
        }
      }
      this.log.warn({ key }, 'request limit kept changing under this replica; letting the requests through');
    } catch (err) {
      this.log.warn({ err }, 'request limits unreachable; letting the requests through');
    }
    return requests.map(() => 0);
  }

  private bucket(): Promise<KV> {
    this.kv ??= new Kvm(this.nc)
      .create(subjects(this.config.TRELLIS_NAMESPACE).buckets.requestLimits, { history: 1, ttl: IDLE_MS, replicas: this.config.NATS_STREAM_REPLICAS })
      .catch((err: unknown) => {
        this.kv = undefined;
        throw err;
      });
    return this.kv;
  }
}

interface KeyQueue {
  waiting: Array<{ perMinute: number; resolve: (wait: number) => void }>;
  pumping: boolean;
}

/** A create or update that lost to another writer (JetStream "wrong last sequence"). */
function isRevisionConflict(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return /wrong last sequence|key exists/i.test(message);
}
