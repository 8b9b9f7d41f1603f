import { decideRetry } from './retry-decision';

describe('decideRetry', () => {
  const policy = { attempts: 4, initialMs: 1_000, maxMs: 5_000 };

  it('backs off exponentially up to the cap, with jitter between half and the full delay', () => {
    expect(decideRetry(policy, 1, undefined, () => 1)).toEqual({ retry: true, delayMs: 1_000 });
    expect(decideRetry(policy, 2, undefined, () => 1)).toEqual({ retry: true, delayMs: 2_000 });
    expect(decideRetry(policy, 3, undefined, () => 0)).toEqual({ retry: true, delayMs: 2_000 });
    expect(decideRetry({ ...policy, attempts: 10 }, 8, undefined, () => 1)).toEqual({ retry: true, delayMs: 5_000 });
  });

  it("waits at least the provider's Retry-After", () => {
    expect(decideRetry(policy, 1, 2_000, () => 0)).toEqual({ retry: true, delayMs: 2_000 });
    expect(decideRetry(policy, 3, 100, () => 1)).toEqual({ retry: true, delayMs: 4_000 });
  });

  it('stops on the last attempt', () => {
    expect(decideRetry(policy, 4, undefined)).toEqual({ retry: false });
    expect(decideRetry({ ...policy, attempts: 1 }, 1, 10)).toEqual({ retry: false });
  });
});
