import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { LlmError, rejectsResponseFormat, retryAfterFrom, toLlmError } from './llm.errors';

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

describe('rejectsResponseFormat', () => {
  // As the SDK's client does: a body without an `error` member is the error itself (vLLM's shape).
  const answered = (status: number, body: Record<string, unknown>) =>
    toLlmError(APIError.generate(status, body.error == null ? { error: body } : body, undefined, new Headers()));

  it.each<[string, number, Record<string, unknown>]>([
    ['OpenAI, a model without structured outputs', 400, { error: { message: "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.", type: 'invalid_request_error', param: 'response_format', code: null } }],
    ['Azure, an old api-version', 400, { error: { message: 'response_format value as json_schema is enabled only for api versions 2024-08-01-preview and later', code: 'BadRequest' } }],
    ['LiteLLM', 400, { error: { message: "litellm.UnsupportedParamsError: ollama does not support parameters: ['response_format'], for model=llama2.", type: 'None', code: '400' } }],
    ['vLLM (no `error` wrapper)', 400, { object: 'error', message: 'The provided JSON schema contains features not supported by xgrammar.', type: 'BadRequestError', code: 400 }],
    ['an older llama.cpp, as a 500', 500, { error: { code: 500, message: 'response_format type must be one of "text" or "json_object", but got: json_schema', type: 'server_error' } }],
    ['TGI, as a 422', 422, { error: 'Failed to deserialize the JSON body into the target type: response_format: unknown variant `json_schema`', error_type: 'validation' }],
  ])('recognises %s', (_name, status, body) => {
    expect(rejectsResponseFormat(answered(status, body))).toBe(true);
  });

  it.each<[string, number, Record<string, unknown>]>([
    ['a 400 about something else', 400, { error: { message: "This model's maximum context length is 8192 tokens.", type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } }],
    ['a 500 about something else', 500, { error: { message: 'The server had an error while processing your request.', type: 'server_error' } }],
    ['a 429 that happens to name response_format', 429, { error: { message: 'Rate limit reached for requests with response_format', type: 'requests' } }],
    ['a 404 unknown model', 404, { error: { message: 'The model `json_schema` does not exist', code: 'model_not_found' } }],
  ])('leaves alone %s', (_name, status, body) => {
    expect(rejectsResponseFormat(answered(status, body))).toBe(false);
  });

  it('leaves alone a failure without an HTTP answer', () => {
    expect(rejectsResponseFormat(new LlmError('response_format: connection reset', { code: 'connection', retryable: true }))).toBe(false);
  });
});
