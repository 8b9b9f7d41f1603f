import type { ChatCompletionRequest } from './chat-request';

/**
 * Whether the simulated provider refuses this request's `response_format`: it asks for JSON
 * (`json_schema` or `json_object`) of a model listed in `noResponseFormat` (`*`: every model),
 * as an OpenAI-compatible server without structured outputs does.
 */
export function refusesResponseFormat(noResponseFormat: readonly string[], request: ChatCompletionRequest): boolean {
  const type = request.response_format?.type;
  if (type !== 'json_schema' && type !== 'json_object') return false;
  return noResponseFormat.includes('*') || noResponseFormat.includes(request.model);
}

/** The 400 body, worded as OpenAI words it for a model without structured outputs. */
export function responseFormatRefused(request: ChatCompletionRequest) {
  return {
    message: `Invalid parameter: 'response_format' of type '${request.response_format?.type}' is not supported with this model.`,
    type: 'invalid_request_error',
    param: 'response_format',
    code: null,
  };
}
