import { z } from 'zod';
import { loadProvidersFile, resolveProviders, type ProviderConfig, type ProvidersFile } from '@trellis/llm';
import { CommonEnv, parseEnv } from '@trellis/runtime';

const VerifierEnv = z.object({
  ...CommonEnv,
  VERIFIER_CONCURRENCY: z.coerce.number().int().min(1).max(4096).default(64),
  /** Deliveries of one verification job before it is dead-lettered and its step failed. */
  VERIFIER_MAX_DELIVER: z.coerce.number().int().min(1).max(100).default(5),
  /**
   * The judge's default provider, as the executor's (DESIGN §9). Optional: a verifier whose
   * pipelines have no judge gate needs no model; a judge gate without it fails its step, naming this variable.
   */
  OPENAI_BASE_URL: z.string().url().optional(),
  OPENAI_API_KEY: z.string().default('not-needed'),
  /** A YAML file of named providers and a model catalog (docs/providers.md): where each judge model is served. */
  TRELLIS_PROVIDERS: z.string().min(1).optional(),
  /** The judge model when neither the gate, the pipeline nor the job names one. */
  VERIFIER_JUDGE_MODEL: z.string().min(1).optional(),
  /** How long one judge call may take. */
  JUDGE_TIMEOUT_MS: z.coerce.number().int().min(1000).default(120_000),
});

/** The verifier's settings, with the providers file read, validated and its keys resolved. */
export type VerifierConfig = z.infer<typeof VerifierEnv> & {
  providersFile: ProvidersFile | undefined;
  providers: Record<string, ProviderConfig>;
};

export const VERIFIER_CONFIG = Symbol('VERIFIER_CONFIG');

export function loadVerifierConfig(env: NodeJS.ProcessEnv = process.env): VerifierConfig {
  const config = parseEnv('verifier', VerifierEnv, env);
  if (!config.TRELLIS_PROVIDERS) return { ...config, providersFile: undefined, providers: {} };
  try {
    const providersFile = loadProvidersFile(config.TRELLIS_PROVIDERS);
    return { ...config, providersFile, providers: resolveProviders(providersFile, env, config.JUDGE_TIMEOUT_MS) };
  } catch (err) {
    // Same exit as a bad variable (parseEnv): a configuration error, named, before Nest starts.
    process.stderr.write(`verifier: TRELLIS_PROVIDERS: ${(err as Error).message}\n`);
    process.exit(78);
  }
}
