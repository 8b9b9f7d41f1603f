import { z } from 'zod';

const CliEnv = z.object({
  TRELLIS_URL: z.string().url('a URL such as http://127.0.0.1:3000').default('http://127.0.0.1:3000'),
  TRELLIS_API_KEY: z.string().min(1).optional(),
  /** For `templates push` of global templates and protected labels. */
  TRELLIS_ADMIN_TOKEN: z.string().min(1).optional(),
  /** Set by CI systems: plain lines instead of a redrawn view. */
  CI: z.string().optional(),
  NO_COLOR: z.string().optional(),
});
export type CliConfig = z.infer<typeof CliEnv>;

/** The CLI's environment, parsed once (nothing else reads process.env). */
export function loadCliConfig(env: NodeJS.ProcessEnv = process.env): CliConfig {
  const parsed = CliEnv.safeParse(env);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n'));
  return parsed.data;
}
