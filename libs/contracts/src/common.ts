import { z } from 'zod';

export const RunId = z.string().uuid();
/** A run id or its first characters, as a user pastes it: hex digits and dashes, lower-cased. */
export const RunIdPrefix = z
  .string()
  .regex(/^[0-9a-fA-F-]{4,36}$/, 'a run id or its first characters: at least 4 hex digits and dashes')
  .transform((s) => s.toLowerCase());

export const TokenUsage = z.object({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
});
export type TokenUsage = z.infer<typeof TokenUsage>;

/**
 * queued: accepted, waiting for a free slot of its project or concurrency key (admission);
 * running; then one of the final three.
 */
export const RunStatus = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']);
export type RunStatus = z.infer<typeof RunStatus>;

/** 1 (lowest) to 5 (highest); {@link DEFAULT_PRIORITY} unless a request says otherwise. */
export const RunPriority = z.number().int().min(1).max(5);
export const DEFAULT_PRIORITY = 3;

/**
 * pending: waits on dependencies; queued: ready, held by the planner's fair dispatch until its
 * pool has room; dispatched: on the work queue or being generated; verifying: generated,
 * waiting on the verifier; then one of the final four.
 */
export const StepStatus = z.enum(['pending', 'queued', 'dispatched', 'verifying', 'succeeded', 'failed', 'skipped', 'cancelled']);
export type StepStatus = z.infer<typeof StepStatus>;

/** Why something failed, kept whole so the run can show it. `retryable` drives redelivery. */
export const FailureInfo = z.object({
  code: z.string(),
  message: z.string(),
  retryable: z.boolean().default(false),
});
export type FailureInfo = z.infer<typeof FailureInfo>;

export const ChatMessage = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;
