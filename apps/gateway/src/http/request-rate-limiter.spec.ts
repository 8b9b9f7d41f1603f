import { takeToken, type Bucket } from './request-rate-limiter';

describe('takeToken', () => {
  it('lets a key burst its per-minute allowance, then refills one request every 60/limit seconds', () => {
    let bucket: Bucket | undefined;
    const take = (now: number) => {
      const r = takeToken(bucket, 3, now);
      bucket = r.bucket;
      return r.wait;
    };
    expect([take(0), take(0), take(0)]).toEqual([0, 0, 0]);
    expect(take(0)).toBe(20); // one token every 20 s
    expect(take(19_000)).toBe(1);
    expect(take(20_000)).toBe(0);
  });

  it('never holds more than the allowance, however long the key was idle', () => {
    const idle = takeToken({ tokens: 0, updatedAt: 0 }, 2, 10 * 60_000);
    expect(idle).toEqual({ bucket: { tokens: 1, updatedAt: 600_000 }, wait: 0 });
  });
});
