// The public surface of @trellis/llm: the model client (over the official `openai` SDK), the
// provider catalog, and the OpenAI-compatible simulator used in development and tests.

export { LlmClient } from './client/llm-client';
export type { ResponseFormat, ChatRequest, ChatResult } from './client/llm-client';
export { LlmError, rejectsResponseFormat } from './client/llm.errors';
export { chatJson, jsonRequests, withJsonInstructions } from './client/json-chat';
export type { JsonShape } from './client/json-chat';
export { resolveProviders, ProviderRegistry } from './client/provider-registry';
export type { ProviderConfig } from './client/provider-registry';
export { ProvidersFile, parseProvidersFile, loadProvidersFile } from './catalog/providers-file';
export { ModelCatalog } from './catalog/model-catalog';
export { planStructuredOutput } from './catalog/structured-output-plan';
export type { StructuredOutputPlan } from './catalog/structured-output-plan';
export { startSimulator } from './simulator/simulator';
export type { SimulatorOptions, SimulatedRequest, SimulatorHandle } from './simulator/simulator.options';
