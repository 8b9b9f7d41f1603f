import { z } from 'zod';
import { Namespace } from '@trellis/contracts';

/**
 * Parses the environment once, before Nest starts. A bad value stops the service with a
 * message naming every bad variable (and never echoing a secret's value).
 */
export function parseEnv<T extends z.ZodType>(service: string, schema: T, env: NodeJS.ProcessEnv = process.env): z.infer<T> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(environment)'}: ${i.message}`);
  process.stderr.write(`${service}: invalid configuration\n${lines.join('\n')}\n`);
  process.exit(78); // EX_CONFIG
}

const port = z.coerce.number().int().min(0).max(65535);

/** Variables every service reads (DESIGN §9). */
export const CommonEnv = {
  NATS_URL: z
    .string()
    .default('nats://127.0.0.1:4222')
    .transform((s) => s.split(',').map((u) => u.trim()).filter(Boolean)),
  TRELLIS_NAMESPACE: Namespace.default('default'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Port of the service's HTTP endpoints (health and readiness; the gateway's API). 0 picks a free one. */
  PORT: port.optional(),
  HOST: z.string().default('127.0.0.1'),
  /** Replicas of the JetStream streams (3 on a 3-node cluster); every service must use the same value. */
  NATS_STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  /** How long the events stream keeps events (SSE replay, the audit trail on NATS); default 7 days. */
  TRELLIS_EVENTS_MAX_AGE_MS: z.coerce.number().int().min(60_000).default(604_800_000),
  /** Grace period on SIGTERM for in-flight work before it is handed back to the queue. */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
};

export const DatabaseEnv = {
  DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/trellis'),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
};
