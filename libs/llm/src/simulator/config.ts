import { z } from 'zod';
import type { SimulatorOptions } from './simulator.options';

// An empty variable means "not set" (`SIM_PORT= npm run start:simulator`), not zero.
const unset = (v: unknown) => (v === '' ? undefined : v);

/** The standalone simulator's environment (the only place `main.ts` reads `process.env`). */
export const SimulatorEnv = z.object({
  SIM_PORT: z.preprocess(unset, z.coerce.number().int().min(0).max(65535).default(4010)),
  SIM_HOST: z.preprocess(unset, z.string().default('127.0.0.1')),
  SIM_LATENCY_MS: z.preprocess(unset, z.coerce.number().int().min(0).max(600_000).default(0)),
  /** Comma-separated models for `GET /v1/models`; default: the built-in list. */
  SIM_MODELS: z.preprocess(
    unset,
    z
      .string()
      .transform((s) => s.split(',').map((m) => m.trim()).filter(Boolean))
      .pipe(z.array(z.string()).min(1, 'list at least one model'))
      .optional(),
  ),
  /** `false` makes unknown models answer 404 `model_not_found`. */
  SIM_ACCEPT_ANY_MODEL: z.preprocess(unset, z.enum(['true', 'false', '1', '0']).default('true')),
  /** The key every `/v1/*` request must carry (`Authorization: Bearer <key>`), as a real provider's; unset, none is asked. */
  SIM_API_KEY: z.preprocess(unset, z.string().optional()),
  /** Comma-separated models (`*`: all) that refuse `response_format` with a 400. */
  SIM_NO_RESPONSE_FORMAT: z.preprocess(unset, z.string().transform((s) => s.split(',').map((m) => m.trim()).filter(Boolean)).optional()),
});

export type SimulatorConfig =
  | { ok: true; options: SimulatorOptions }
  | { ok: false; errors: string[] };

/** Parses the environment; on failure lists every bad variable (by name: a value is never echoed). */
export function loadSimulatorConfig(env: Readonly<Record<string, string | undefined>>): SimulatorConfig {
  const parsed = SimulatorEnv.safeParse(env);
  if (!parsed.success) {
    return { ok: false, errors: parsed.error.issues.map((i) => `${i.path.join('.') || '(environment)'}: ${i.message}`) };
  }
  const e = parsed.data;
  return {
    ok: true,
    options: {
      port: e.SIM_PORT,
      host: e.SIM_HOST,
      latencyMs: e.SIM_LATENCY_MS,
      acceptAnyModel: e.SIM_ACCEPT_ANY_MODEL === 'true' || e.SIM_ACCEPT_ANY_MODEL === '1',
      ...(e.SIM_MODELS ? { models: e.SIM_MODELS } : {}),
      ...(e.SIM_API_KEY ? { apiKey: e.SIM_API_KEY } : {}),
      ...(e.SIM_NO_RESPONSE_FORMAT ? { noResponseFormat: e.SIM_NO_RESPONSE_FORMAT } : {}),
    },
  };
}
