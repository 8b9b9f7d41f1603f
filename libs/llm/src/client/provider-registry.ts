import { ModelCatalog, DEFAULT_PROVIDER } from '../catalog/model-catalog';
import type { ProvidersFile } from '../catalog/providers-file';
import { LlmClient, type LlmClientOptions } from './llm-client';

/** One named OpenAI-compatible endpoint. */
export type ProviderConfig = LlmClientOptions;

/** Options of {@link ProviderRegistry}. */
export interface ProviderRegistryOptions {
  /** Where every model goes unless the catalog says otherwise (`OPENAI_BASE_URL`, `OPENAI_API_KEY`). */
  defaultProvider: ProviderConfig;
  /** Named providers (a resolved providers file: see {@link resolveProviders}). */
  providers?: Readonly<Record<string, ProviderConfig>>;
  /** Which provider serves which model, and at what price. */
  catalog?: ModelCatalog;
}

/**
 * Turns a providers file into client options, taking each API key from the variable it
 * names in `env`. Throws listing every provider whose key variable is unset, so a
 * misconfigured executor fails at start rather than on its first call.
 */
export function resolveProviders(file: ProvidersFile, env: Readonly<Record<string, string | undefined>>, timeoutMs?: number): Record<string, ProviderConfig> {
  const missing: string[] = [];
  const out: Record<string, ProviderConfig> = {};
  for (const [name, p] of Object.entries(file.providers)) {
    const apiKey = p.api_key_env ? env[p.api_key_env] : 'not-needed';
    if (!apiKey) {
      missing.push(`providers.${name}.api_key_env: ${p.api_key_env} is not set`);
      continue;
    }
    const timeout = p.timeout_ms ?? timeoutMs;
    out[name] = {
      name,
      baseURL: p.base_url,
      apiKey,
      ...(Object.keys(p.headers).length ? { defaultHeaders: p.headers } : {}),
      ...(timeout === undefined ? {} : { timeoutMs: timeout }),
    };
  }
  if (missing.length) throw new Error(`providers file: ${missing.join('; ')}`);
  return out;
}

/**
 * Picks the client for a model: the catalog's provider for a catalogued model, the default
 * provider for any other. Clients are created once per provider and kept, so calls share
 * the SDK's connection pool; all are created at once, so a bad config fails at start.
 */
export class ProviderRegistry {
  readonly catalog: ModelCatalog;
  private readonly clients = new Map<string, LlmClient>();
  /** `provider \0 model` → the provider's words when it refused `response_format` for the model. */
  private readonly responseFormatRejections = new Map<string, string>();

  constructor(options: ProviderRegistryOptions) {
    this.catalog = options.catalog ?? new ModelCatalog();
    this.clients.set(DEFAULT_PROVIDER, new LlmClient({ name: DEFAULT_PROVIDER, ...options.defaultProvider }));
    for (const [name, config] of Object.entries(options.providers ?? {})) {
      this.clients.set(name, new LlmClient({ ...config, name }));
    }
  }

  /** The client that serves `model`. */
  clientFor(model: string): LlmClient {
    const name = this.providerFor(model);
    const client = this.clients.get(name);
    if (!client) throw new Error(`no provider named "${name}" for model "${model}"`);
    return client;
  }

  /** The provider name for a model. */
  providerFor(model: string): string {
    return this.catalog.providerOf(model);
  }

  /**
   * Remembers, for this process, that the provider serving `model` refused `response_format`
   * for it, so that later calls ask for JSON with instructions at once instead of paying a
   * refused request each time. A restart forgets it: the provider may have been upgraded.
   */
  rememberResponseFormatRejection(model: string, message: string): void {
    this.responseFormatRejections.set(`${this.providerFor(model)}\0${model}`, message);
  }

  /** The provider's words when it refused `response_format` for `model` earlier in this process. */
  responseFormatRejection(model: string): string | undefined {
    return this.responseFormatRejections.get(`${this.providerFor(model)}\0${model}`);
  }
}
