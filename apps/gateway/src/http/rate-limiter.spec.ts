import { RateLimiter } from './rate-limiter';

describe('RateLimiter', () => {
  it('lets a key burst its per-minute allowance, then refills one request every 60/limit seconds', () => {
    const sut = new RateLimiter();
    let now = 0;
    sut.now = () => now;
    expect([1, 2, 3].map(() => sut.take('k', 3))).toEqual([0, 0, 0]);
    expect(sut.take('k', 3)).toBe(20); // one token every 20 s
    now = 19_000;
    expect(sut.take('k', 3)).toBe(1);
    now = 20_000;
    expect(sut.take('k', 3)).toBe(0);
  });

  it('keeps each key to its own bucket', () => {
    const sut = new RateLimiter();
    sut.now = () => 0;
    sut.take('a', 1);
    expect(sut.take('a', 1)).toBeGreaterThan(0);
    expect(sut.take('b', 1)).toBe(0);
  });
});
