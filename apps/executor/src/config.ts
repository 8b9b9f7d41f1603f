import { hostname } from 'node:os';
import { z } from 'zod';
import { PoolName } from '@trellis/contracts';
import { loadProvidersFile, resolveProviders, type ProviderConfig, type ProvidersFile } from '@trellis/llm';
import { CommonEnv, parseEnv } from '@trellis/runtime';

const list = z
  .string()
  .default('')
  .transform((s) => s.split(',').map((p) => p.trim()).filter(Boolean));

const ExecutorEnv = z.object({
  ...CommonEnv,
  /** The default provider: every model not in the providers catalog goes here (DESIGN §9). */
  OPENAI_BASE_URL: z.string().url({ message: 'set OPENAI_BASE_URL to an OpenAI-compatible endpoint (npm start runs the simulator)' }),
  OPENAI_API_KEY: z.string().default('not-needed'),
  /** The pools this replica pulls from, comma-separated. */
  EXECUTOR_POOLS: z
    .string()
    .default('default')
    .transform((s) => s.split(',').map((p) => p.trim()).filter(Boolean))
    .pipe(z.array(PoolName).min(1)),
  /**
   * Steps in flight per replica: model calls wait on the network, not the CPU, so this is far
   * above the core count. In a burst a replica pulls, and its answers reach the planner, in
   * batches up to this size; fewer and larger batches cost less per step (bench/README.md, row 20).
   */
  EXECUTOR_CONCURRENCY: z.coerce.number().int().min(1).max(4096).default(256),
  /** Tries of a step attempt whose job carries no `retry` policy, before it is reported failed. */
  EXECUTOR_MAX_DELIVER: z.coerce.number().int().min(1).max(100).default(5),
  /** Without an in-progress ack for this long, a step is redelivered to another replica (heartbeats keep long calls alive). */
  EXECUTOR_ACK_WAIT_MS: z.coerce.number().int().min(1000).default(30_000),
  /** How long a model call may take. */
  MODEL_TIMEOUT_MS: z.coerce.number().int().min(1000).default(600_000),
  /** Largest answer (with its prompt) a step may produce: results travel in NATS messages. */
  EXECUTOR_MAX_OUTPUT_BYTES: z.coerce.number().int().min(1024).max(64 * 1024 * 1024).default(256 * 1024),
  EXECUTOR_ID: z.string().default(`${hostname()}-${process.pid}`),
  /** Record prompts and answers on model-call spans. Off by default: they may hold personal or secret data. */
  EXECUTOR_RECORD_CONTENT: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  /**
   * A rate-limit grant is timed before its request leaves; the provider counts the request
   * when it arrives (after connection set-up, behind the rest of a burst, on a busy host).
   * Grants count this much longer than the minute, so the provider's own window never sees
   * more than the limit. Raise it on slow or loaded networks.
   */
  EXECUTOR_RATE_LIMIT_MARGIN_MS: z.coerce.number().int().min(0).max(30_000).default(2_000),
  /** Path to a YAML file of named providers and a model catalog (docs/providers.md). */
  TRELLIS_PROVIDERS: z.string().min(1).optional(),
  /** Least time between two `step.progress` events of one step, and before its first: a step answered sooner publishes none. */
  EXECUTOR_PROGRESS_INTERVAL_MS: z.coerce.number().int().min(50).default(250),
  /** A directory of custom tools: JS modules whose default export (or `tool` export) is a tool definition. */
  EXECUTOR_TOOLS_DIR: z.string().min(1).optional(),
  /**
   * Hosts, IPs or CIDRs the `http` tool may reach although they are loopback, private,
   * link-local or metadata addresses (e.g. `10.0.0.0/8,internal.example`), comma-separated.
   */
  EXECUTOR_HTTP_ALLOW: list,
  /** Largest `http` tool response body, bytes. */
  EXECUTOR_HTTP_MAX_BYTES: z.coerce.number().int().min(1).default(1_048_576),
  /** Longest `http` tool call (all redirects included), ms. */
  EXECUTOR_HTTP_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
});

/** The executor's settings, with the providers file read, validated and its keys resolved. */
export type ExecutorConfig = z.infer<typeof ExecutorEnv> & {
  providersFile: ProvidersFile | undefined;
  providers: Record<string, ProviderConfig>;
};

export const EXECUTOR_CONFIG = Symbol('EXECUTOR_CONFIG');

export function loadExecutorConfig(env: NodeJS.ProcessEnv = process.env): ExecutorConfig {
  const config = parseEnv('executor', ExecutorEnv, env);
  if (!config.TRELLIS_PROVIDERS) return { ...config, providersFile: undefined, providers: {} };
  try {
    const providersFile = loadProvidersFile(config.TRELLIS_PROVIDERS);
    return { ...config, providersFile, providers: resolveProviders(providersFile, env, config.MODEL_TIMEOUT_MS) };
  } catch (err) {
    // Same exit as a bad variable (parseEnv): a configuration error, named, before Nest starts.
    process.stderr.write(`executor: TRELLIS_PROVIDERS: ${(err as Error).message}\n`);
    process.exit(78);
  }
}
