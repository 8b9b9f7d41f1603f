// The public surface of @trellis/llm: the model client (over the official `openai` SDK) and the
// OpenAI-compatible simulator used in development and tests.
export {
  LlmClient,
  type LlmClientOptions,
  type ChatRequest,
  type ChatOptions,
  type ChatResult,
  type JsonSchemaResponseFormat,
  type JsonObjectResponseFormat,
  type ResponseFormat,
} from './client/llm-client';
export { LlmError, rejectsResponseFormat, type LlmErrorCode, type LlmErrorOptions } from './client/llm.errors';
export { ProviderRegistry, resolveProviders, type ProviderConfig, type ProviderRegistryOptions } from './client/provider-registry';
export {
  ProvidersFile,
  ProviderEntry,
  ModelEntry,
  ModelCapability,
  RateLimits,
  ProvidersFileError,
  parseProvidersFile,
  loadProvidersFile,
} from './catalog/providers-file';
export { ModelCatalog, DEFAULT_PROVIDER } from './catalog/model-catalog';
export { planStructuredOutput, type StructuredOutputInput, type StructuredOutputPlan } from './catalog/structured-output-plan';

export { startSimulator } from './simulator/simulator';
export {
  DEFAULT_SIMULATOR_MODELS,
  type SimulatorOptions,
  type SimulatorSettings,
  type SimulatorHandle,
  type SimulatedRequest,
} from './simulator/simulator.options';
export type { SimulatedMessage } from './simulator/chat-request';
export type { SimDirective } from './simulator/directives';
