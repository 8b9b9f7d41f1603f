import { DomainError, TrellisError } from '@trellis/contracts';
import { NonRetryableError, RetryableError } from './errors';
import { backoffDelay, settleFailure } from './retry-policy';

const policy = { maxDeliver: 3, backoffMs: [1_000, 5_000] };
const noJitter = () => 0.5; // 0.8 + 0.4 * 0.5 = 1

describe('settleFailure', () => {
  it('dead-letters a NonRetryableError at once, with its code and message as the reason', () => {
    expect(settleFailure(new NonRetryableError('template gone', { code: 'not_found' }), 1, policy)).toEqual({
      action: 'dead-letter',
      reason: 'not_found: template gone',
    });
  });

  it('reads any error of the taxonomy by its retryable flag and retry-after, not its class', () => {
    expect(settleFailure(new DomainError('not_found', 'run gone'), 1, policy)).toEqual({ action: 'dead-letter', reason: 'not_found: run gone' });
    expect(settleFailure(new DomainError('unavailable', 'registry away'), 1, policy, noJitter)).toEqual({ action: 'nak', delayMs: 1_000 });
    expect(settleFailure(new TrellisError('llm.rate_limited', 'slow down', { retryable: true, retryAfterMs: 700 }), 1, policy)).toEqual({ action: 'nak', delayMs: 700 });
  });

  it('naks any other error with the backoff for the delivery', () => {
    expect(settleFailure(new Error('boom'), 1, policy, noJitter)).toEqual({ action: 'nak', delayMs: 1_000 });
    expect(settleFailure(new RetryableError('busy'), 2, policy, noJitter)).toEqual({ action: 'nak', delayMs: 5_000 });
  });

  it('honours retryAfterMs exactly', () => {
    expect(settleFailure(new RetryableError('rate limited', { retryAfterMs: 1234 }), 1, policy)).toEqual({ action: 'nak', delayMs: 1234 });
  });

  it('dead-letters a retryable failure on the last allowed delivery, keeping the last error', () => {
    const outcome = settleFailure(new RetryableError('still down', { code: 'unavailable', retryAfterMs: 10 }), 3, policy);
    expect(outcome).toEqual({ action: 'dead-letter', reason: 'failed 3 deliveries (limit 3); last error: unavailable: still down' });
  });
});

describe('backoffDelay', () => {
  it('repeats the last step past the end of the list', () => {
    expect(backoffDelay(1, [100, 200], noJitter)).toBe(100);
    expect(backoffDelay(2, [100, 200], noJitter)).toBe(200);
    expect(backoffDelay(9, [100, 200], noJitter)).toBe(200);
  });

  it('jitters within ±20%', () => {
    expect(backoffDelay(1, [1_000], () => 0)).toBe(800);
    expect(backoffDelay(1, [1_000], () => 0.999_999)).toBe(1_200);
  });
});
