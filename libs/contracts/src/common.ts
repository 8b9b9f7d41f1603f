import { z } from 'zod';

export const RunId = z.string().uuid();
/** A run id or its first characters, as a user pastes it: hex digits and dashes, lower-cased. */
export const RunIdPrefix = z
  .string()
  .regex(/^[0-9a-fA-F-]{4,36}$/, 'a run id or its first characters: at least 4 hex digits and dashes')
  .transform((s) => s.toLowerCase());
export const ProjectId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/);

export const TokenUsage = z.object({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
});
export type TokenUsage = z.infer<typeof TokenUsage>;

export const RunStatus = z.enum(['running', 'succeeded', 'failed', 'cancelled']);
export type RunStatus = z.infer<typeof RunStatus>;

/**
 * pending: waits on dependencies; dispatched: on the work queue or being generated;
 * verifying: generated, waiting on the verifier; then one of the final four.
 */
export const StepStatus = z.enum(['pending', 'dispatched', 'verifying', 'succeeded', 'failed', 'skipped', 'cancelled']);
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
