import { join } from 'node:path';
import { z } from 'zod';
import { CommonEnv, DatabaseEnv, parseEnv } from '@trellis/runtime';

const GatewayEnv = z.object({
  ...CommonEnv,
  ...DatabaseEnv,
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** The API key of the project `default` (DESIGN §9), ensured at every start. */
  TRELLIS_API_KEY: z.string().min(16, 'use at least 16 characters'),
  /** Creates projects and keys (`/v1/projects…`); unset (or empty), those routes answer 404. */
  TRELLIS_ADMIN_TOKEN: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(16, 'use at least 16 characters').optional()),
  /** Largest accepted request body, in bytes. */
  GATEWAY_BODY_LIMIT: z.coerce.number().int().min(1024).default(10 * 1024 * 1024),
  /** How long the gateway waits on the planner before answering 503. */
  GATEWAY_RPC_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  /** Requests per minute per API key (per gateway replica), unless the key sets its own. */
  GATEWAY_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(6000),
  /** Runs a project may have running at once, unless the project sets its own. */
  GATEWAY_MAX_RUNNING_RUNS: z.coerce.number().int().min(1).max(100_000).default(100),
  /** Interval of SSE heartbeat comments, so proxies keep an idle stream open. */
  GATEWAY_SSE_HEARTBEAT_MS: z.coerce.number().int().min(100).default(15_000),
  /** The console's build, served at `/`; by default `dist/console` beside this build (dist/apps/gateway/src). */
  GATEWAY_CONSOLE_DIR: z.string().min(1).default(join(__dirname, '../../../console')),
});
export type GatewayConfig = z.infer<typeof GatewayEnv>;

export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  return parseEnv('gateway', GatewayEnv, env);
}
