import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { nameSchema } from '@trellis/contracts';

/** Requests and tokens per minute: a provider's or a model's published limits. */
export const RateLimits = z.object({
  /** Requests per minute. */
  rpm: z.number().int().positive().optional(),
  /** Tokens (input + output) per minute. */
  tpm: z.number().int().positive().optional(),
});
export type RateLimits = z.infer<typeof RateLimits>;

/** One OpenAI-compatible endpoint as the providers file names it. */
export const ProviderEntry = RateLimits.extend({
  /** Base URL including the version path, e.g. `https://api.openai.com/v1`. */
  base_url: z.string().url(),
  /** The NAME of the environment variable holding the API key (never the key itself). Absent: an endpoint without auth. */
  api_key_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name').optional(),
  /** Extra headers sent with every request (e.g. `OpenAI-Organization`, a gateway's routing header). */
  headers: z.record(z.string(), z.string()).default({}),
  /** Longest call to this provider, in ms. */
  timeout_ms: z.number().int().positive().optional(),
}).strict();
export type ProviderEntry = z.infer<typeof ProviderEntry>;

export const ModelCapability = z.enum(['structured_outputs', 'tools', 'vision']);
export type ModelCapability = z.infer<typeof ModelCapability>;

/** One model of the catalog: where it runs, what it costs, what it can do. */
export const ModelEntry = RateLimits.extend({
  /** A provider named under `providers`, or `default` (`OPENAI_BASE_URL`). */
  provider: z.string(),
  /** USD per million tokens. */
  price: z.object({ input: z.number().nonnegative(), output: z.number().nonnegative() }).strict(),
  context_window: z.number().int().positive(),
  capabilities: z.array(ModelCapability).default([]),
  /** For selection by quality: 1 (basic) to 5 (frontier). */
  tier: z.number().int().min(1).max(5).default(3),
}).strict();
export type ModelEntry = z.infer<typeof ModelEntry>;

/** The `TRELLIS_PROVIDERS` file: named providers and a model catalog (docs/providers.md). */
export const ProvidersFile = z
  .object({
    version: z.literal(1),
    providers: z.record(nameSchema('provider names are'), ProviderEntry).default({}),
    models: z.record(z.string().min(1), ModelEntry).default({}),
  })
  .strict()
  .superRefine((file, ctx) => {
    for (const [model, entry] of Object.entries(file.models)) {
      if (entry.provider !== 'default' && !(entry.provider in file.providers)) {
        ctx.addIssue({ code: 'custom', path: ['models', model, 'provider'], message: `unknown provider "${entry.provider}" (declare it under providers, or use "default")` });
      }
    }
  });
export type ProvidersFile = z.infer<typeof ProvidersFile>;

/** A providers file that could not be read or is invalid; the message names every bad field. */
export class ProvidersFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProvidersFileError';
  }
}

/** Parses and validates providers YAML text; `source` names it in errors. */
export function parseProvidersFile(text: string, source = 'providers file'): ProvidersFile {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new ProvidersFileError(`${source}: not valid YAML: ${(err as Error).message}`);
  }
  const parsed = ProvidersFile.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ProvidersFileError(`${source} is invalid:\n  ${issues.join('\n  ')}`);
  }
  return parsed.data;
}

/** Reads and validates the file at `path` (`TRELLIS_PROVIDERS`). */
export function loadProvidersFile(path: string): ProvidersFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ProvidersFileError(`cannot read providers file ${path}: ${(err as Error).message}`);
  }
  return parseProvidersFile(text, path);
}
