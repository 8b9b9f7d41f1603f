import { z } from 'zod';
import { CommonEnv, DatabaseEnv, parseEnv } from '@trellis/runtime';

const RegistryEnv = z.object({
  ...CommonEnv,
  ...DatabaseEnv,
  /** Labels only the admin token may move (comma-separated); promoting an experiment moves `production`. */
  TEMPLATE_PROTECTED_LABELS: z
    .string()
    .default('production')
    .transform((s) => s.split(',').map((l) => l.trim()).filter(Boolean)),
  /** Experiment events applied concurrently. */
  REGISTRY_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
});
export type RegistryConfig = z.infer<typeof RegistryEnv>;

export const REGISTRY_CONFIG = Symbol('REGISTRY_CONFIG');

export function loadRegistryConfig(env: NodeJS.ProcessEnv = process.env): RegistryConfig {
  return parseEnv('template-registry', RegistryEnv, env);
}
