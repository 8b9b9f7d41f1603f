import { FailureInfo } from './common';
import { backoffDelay, DomainError, exponentialDelays, RETRYABLE_ERROR_CODES, TrellisError } from './failure';
import { RpcError } from './rpc';

describe('TrellisError', () => {
  it('round-trips through the failure info events and records carry', () => {
    const cause = new Error('socket hang up');
    const sut = new TrellisError('tool.connection', 'http: example.org: socket hang up', { retryable: true, retryAfterMs: 1_500, cause });

    const info = FailureInfo.parse(JSON.parse(JSON.stringify(sut.toFailureInfo())));
    expect(info).toEqual({ code: 'tool.connection', message: 'http: example.org: socket hang up', retryable: true });
    const back = TrellisError.fromFailureInfo(info, { retryAfterMs: 1_500, cause });
    expect(back).toBeInstanceOf(TrellisError);
    expect(back).toMatchObject({ code: sut.code, message: sut.message, retryable: true, retryAfterMs: 1_500, cause });
    expect(back.toFailureInfo()).toEqual(info);
  });

  it('is not retryable unless it says so, and keeps no delay then', () => {
    const sut = new TrellisError('invalid_output', 'not JSON', { retryAfterMs: 1_000 });
    expect(sut.retryable).toBe(false);
    expect(sut.retryAfterMs).toBeUndefined();
    expect(TrellisError.fromFailureInfo(FailureInfo.parse({ code: 'x', message: 'y' })).retryable).toBe(false);
  });

  it("takes its subclass's name, for logs", () => {
    class ToolError extends TrellisError {}
    expect(new ToolError('tool.failed', 'boom').name).toBe('ToolError');
    expect(new ToolError('tool.failed', 'boom')).toBeInstanceOf(TrellisError);
  });
});

describe('DomainError', () => {
  it('is retryable as its code says', () => {
    expect(new DomainError('unavailable', 'registry away').retryable).toBe(true);
    expect(new DomainError('resource_exhausted', 'too many runs').retryable).toBe(true);
    expect(new DomainError('not_found', 'no such run').retryable).toBe(false);
    expect(RETRYABLE_ERROR_CODES.invalid_argument).toBe(false);
  });

  it('round-trips through the RPC error reply, with its issues', () => {
    const issues = [{ path: ['inputs', 'idea'], message: 'required', line: 3, column: 5 }];
    const sut = new DomainError('invalid_argument', "the run's inputs have 1 problem(s)", issues);
    const wire = RpcError.parse(JSON.parse(JSON.stringify(sut.toRpcError())));
    expect(wire).toEqual({ code: 'invalid_argument', message: "the run's inputs have 1 problem(s)", issues });
    expect(new DomainError(wire.code, wire.message, wire.issues)).toMatchObject({ code: sut.code, message: sut.message, issues, retryable: false });
    expect(new DomainError('not_found', 'gone', []).toRpcError()).toEqual({ code: 'not_found', message: 'gone' });
  });
});

describe('backoffDelay', () => {
  const middle = () => 0.5;

  it('takes the delay for the failure, repeating the last one past the end', () => {
    const policy = { delaysMs: [100, 200], jitter: [1, 1] as const };
    expect(backoffDelay(policy, 1)).toBe(100);
    expect(backoffDelay(policy, 2)).toBe(200);
    expect(backoffDelay(policy, 9)).toBe(200);
    expect(backoffDelay(policy, 0)).toBe(100);
  });

  it('scales the delay by a random factor within the jitter range', () => {
    const policy = { delaysMs: [1_000], jitter: [0.8, 1.2] as const };
    expect(backoffDelay(policy, 1, () => 0)).toBe(800);
    expect(backoffDelay(policy, 1, middle)).toBe(1_000);
    expect(backoffDelay(policy, 1, () => 0.999_999)).toBe(1_200);
  });

  it('waits nothing without delays', () => {
    expect(backoffDelay({ delaysMs: [], jitter: [0.5, 1] }, 3)).toBe(0);
  });

  it('backs off exponentially to a cap with exponentialDelays', () => {
    expect(exponentialDelays(1_000, 5_000, 5)).toEqual([1_000, 2_000, 4_000, 5_000, 5_000]);
    const policy = { delaysMs: exponentialDelays(1_000, 30_000, 20), jitter: [0.5, 1] as const };
    expect(backoffDelay(policy, 3, () => 1)).toBe(4_000);
    expect(backoffDelay(policy, 3, () => 0)).toBe(2_000);
    expect(backoffDelay(policy, 20, () => 1)).toBe(30_000);
  });
});
