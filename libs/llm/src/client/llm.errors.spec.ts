import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { LlmError, retryAfterFrom, toLlmError } from './llm.errors';

const NOW = Date.parse('2025-06-01T12:00:00Z');
const clock = () => NOW;

function apiError(status: number, headers: Record<string, string> = {}, code: string | null = null): APIError {
  return APIError.generate(status, { error: { message: 'boom', type: 'x', param: null, code } }, undefined, new Headers(headers));
}

describe('retryAfterFrom', () => {
  it.each<[string, Record<string, string>, number | undefined]>([
    ['Retry-After in seconds', { 'retry-after': '2' }, 2000],
    ['fractional seconds', { 'retry-after': '0.25' }, 250],
    ['an HTTP date', { 'retry-after': 'Sun, 01 Jun 2025 12:00:30 GMT' }, 30_000],
    ['an HTTP date in the past, as zero', { 'retry-after': 'Sun, 01 Jun 2025 11:00:00 GMT' }, 0],
    ['retry-after-ms, preferred over Retry-After', { 'retry-after-ms': '1500', 'retry-after': '9' }, 1500],
    ['no header', {}, undefined],
    ['garbage', { 'retry-after': 'soon' }, undefined],
  ])('reads %s', (_name, headers, expected) => {
    expect(retryAfterFrom(new Headers(headers), clock)).toBe(expected);
  });
});

describe('toLlmError', () => {
  it.each<[number, string, boolean]>([
    [429, 'rate_limited', true],
    [408, 'timeout', true],
    [409, 'conflict', true],
    [500, 'provider_unavailable', true],
    [503, 'provider_unavailable', true],
    [400, 'bad_request', false],
    [401, 'unauthorized', false],
    [403, 'forbidden', false],
    [404, 'not_found', false],
    [413, 'bad_request', false],
    [422, 'bad_request', false],
  ])('classifies HTTP %i as %s (retryable: %s)', (status, code, retryable) => {
    const error = toLlmError(apiError(status));
    expect(error).toBeInstanceOf(LlmError);
    expect(error).toMatchObject({ status, code, retryable });
  });

  it('honours Retry-After on retryable statuses only', () => {
    expect(toLlmError(apiError(429, { 'retry-after': '2' }), undefined, clock).retryAfterMs).toBe(2000);
    expect(toLlmError(apiError(400, { 'retry-after': '2' }), undefined, clock).retryAfterMs).toBeUndefined();
  });

  it("keeps the provider's code and request id, and the SDK error as cause", () => {
    const sdkError = apiError(404, { 'x-request-id': 'req_1' }, 'model_not_found');
    const error = toLlmError(sdkError);
    expect(error).toMatchObject({ providerCode: 'model_not_found', requestId: 'req_1' });
    expect(error.cause).toBe(sdkError);
  });

  it('treats timeouts and connection failures as retryable', () => {
    expect(toLlmError(new APIConnectionTimeoutError())).toMatchObject({ code: 'timeout', retryable: true });
    const reset = new APIConnectionError({ message: 'Connection error.', cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
    const error = toLlmError(reset);
    expect(error).toMatchObject({ code: 'connection', retryable: true });
    expect(error.message).toContain('UND_ERR_SOCKET');
  });

  it("treats the caller's abort as final, whatever the SDK threw", () => {
    expect(toLlmError(new APIUserAbortError())).toMatchObject({ code: 'aborted', retryable: false });
    const controller = new AbortController();
    controller.abort();
    expect(toLlmError(new APIConnectionError({ message: 'x' }), controller.signal)).toMatchObject({ code: 'aborted' });
  });

  it('turns anything else into a retryable unknown error and returns an LlmError unchanged', () => {
    expect(toLlmError(new TypeError('nope'))).toMatchObject({ code: 'unknown', retryable: true });
    const known = new LlmError('x', { code: 'bad_request', retryable: false });
    expect(toLlmError(known)).toBe(known);
  });

  it('describes itself as a run failure', () => {
    expect(toLlmError(apiError(429)).toFailureInfo()).toEqual({ code: 'llm.rate_limited', message: expect.stringContaining('429'), retryable: true });
  });
});
