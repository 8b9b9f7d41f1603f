import type { TokenUsage } from '@trellis/contracts';
import type { ModelCapability, ModelEntry, ProvidersFile, RateLimits } from './providers-file';

/** The provider every model not in the catalog goes to (`OPENAI_BASE_URL`). */
export const DEFAULT_PROVIDER = 'default';

/**
 * The model catalog of a providers file, for callers that choose or price models (the
 * executor prices each call; the planner may select models by tier, capability and price).
 * A model missing from the catalog is served by the default provider, free and unlimited as
 * far as Trellis knows.
 */
export class ModelCatalog {
  constructor(private readonly file: Pick<ProvidersFile, 'providers' | 'models'> = { providers: {}, models: {} }) {}

  /** Every model of the catalog, by name. */
  get models(): Readonly<Record<string, ModelEntry>> {
    return this.file.models;
  }

  entry(model: string): ModelEntry | undefined {
    return Object.hasOwn(this.file.models, model) ? this.file.models[model] : undefined;
  }

  /** The provider that serves `model`. */
  providerOf(model: string): string {
    return this.entry(model)?.provider ?? DEFAULT_PROVIDER;
  }

  /** The catalog lists `model` with `capability` (a model without an entry has none that Trellis knows of). */
  supports(model: string, capability: ModelCapability): boolean {
    return this.entry(model)?.capabilities.includes(capability) ?? false;
  }

  /**
   * The catalog lists `model` without `capability`: it says the model lacks it. A model without
   * an entry lacks nothing as far as the catalog knows (see `planStructuredOutput`).
   */
  lacks(model: string, capability: ModelCapability): boolean {
    const entry = this.entry(model);
    return entry !== undefined && !entry.capabilities.includes(capability);
  }

  /** USD for one call, or undefined when the catalog has no price for the model. */
  cost(model: string, usage: TokenUsage): number | undefined {
    const entry = this.entry(model);
    if (!entry) return undefined;
    return (usage.inputTokens * entry.price.input + usage.outputTokens * entry.price.output) / 1_000_000;
  }

  /** The limits a call to `model` must respect: its provider's and its own, each shared by every replica. */
  limits(model: string): { provider: string; providerLimits: RateLimits; modelLimits: RateLimits } {
    const provider = this.providerOf(model);
    const p = provider === DEFAULT_PROVIDER ? undefined : this.file.providers[provider];
    const m = this.entry(model);
    return {
      provider,
      providerLimits: { ...(p?.rpm ? { rpm: p.rpm } : {}), ...(p?.tpm ? { tpm: p.tpm } : {}) },
      modelLimits: { ...(m?.rpm ? { rpm: m.rpm } : {}), ...(m?.tpm ? { tpm: m.tpm } : {}) },
    };
  }
}
