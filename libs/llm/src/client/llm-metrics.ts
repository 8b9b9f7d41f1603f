import { metrics, type Counter, type Histogram } from '@opentelemetry/api';

interface LlmMetrics {
  /** `gen_ai.client.operation.duration`, seconds, per call (OpenTelemetry GenAI conventions). */
  duration: Histogram;
  /** `gen_ai.client.token.usage`: tokens by `gen_ai.token.type` (input/output). A counter, so rates and sums come free. */
  tokens: Counter;
}

let instruments: LlmMetrics | undefined;

/** Created on first use, after the app's telemetry bootstrap installed its meter provider. */
export function llmMetrics(): LlmMetrics {
  instruments ??= (() => {
    const meter = metrics.getMeter('@trellis/llm');
    return {
      duration: meter.createHistogram('gen_ai.client.operation.duration', { unit: 's', description: 'Duration of model calls' }),
      tokens: meter.createCounter('gen_ai.client.token.usage', { unit: '{token}', description: 'Tokens used by model calls' }),
    };
  })();
  return instruments;
}
