import type { z } from 'zod';
import type { Issue } from '@trellis/contracts';

/** Turns zod's issues into the wire `Issue` shape: every issue, each with its path. */
export function toIssues(error: z.ZodError): Issue[] {
  return error.issues.map((issue) => ({
    // zod paths may hold symbols (never in JSON input, but the type allows them).
    path: issue.path.map((key) => (typeof key === 'number' ? key : String(key))),
    message: issue.message,
  }));
}

/** One line listing every issue, `path: message; …`, for dead-letter reasons and logs. */
export function formatIssues(issues: readonly Issue[]): string {
  return issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}
