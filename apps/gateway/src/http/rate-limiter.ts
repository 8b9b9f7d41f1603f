import { Injectable } from '@nestjs/common';

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * A token bucket per API key, in this replica's memory: a key may burst its whole per-minute
 * allowance, then gets one request every 60/limit seconds. With N gateway replicas behind a
 * load balancer a key gets up to N times its limit (documented in docs/configuration.md).
 */
@Injectable()
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  /** The clock; a unit test may replace it. */
  now: () => number = Date.now;

  /** Takes one token; answers 0 when allowed, else the seconds until a token is available. */
  take(key: string, perMinute: number): number {
    const now = this.now();
    const ratePerMs = perMinute / 60_000;
    const bucket = this.buckets.get(key) ?? { tokens: perMinute, updatedAt: now };
    bucket.tokens = Math.min(perMinute, bucket.tokens + (now - bucket.updatedAt) * ratePerMs);
    bucket.updatedAt = now;
    this.buckets.set(key, bucket);
    if (this.buckets.size > 100_000) this.evictFull(now, ratePerMs);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerMs / 1000));
  }

  /** A full bucket holds nothing worth remembering. */
  private evictFull(now: number, ratePerMs: number): void {
    for (const [key, b] of this.buckets) if (b.tokens + (now - b.updatedAt) * ratePerMs >= 60_000 * ratePerMs) this.buckets.delete(key);
  }
}
