import type { Problem } from '@trellis/contracts';
import { GatewayRequestError } from '../client/gateway-client';

/** Where commands write: stdout for results, stderr for problems. */
export interface Io {
  out: NodeJS.WritableStream & { isTTY?: boolean };
  err: NodeJS.WritableStream;
}

/** A command's error as the user reads it: the detail, then every issue with its line and column. */
export function describeError(err: unknown, file?: string): string {
  if (err instanceof GatewayRequestError && err.problem) return [err.message, ...issueLines(err.problem, file)].join('\n');
  return err instanceof Error ? err.message : String(err);
}

export function issueLines(problem: Problem, file?: string): string[] {
  return (problem.errors ?? []).map((e) => {
    const where = e.line !== undefined ? `${file ?? ''}${file ? ':' : 'line '}${e.line}${e.column !== undefined ? `:${e.column}` : ''}` : e.path || '(document)';
    return `  ${where}: ${e.message}${e.line !== undefined && e.path ? ` (${e.path})` : ''}`;
  });
}

/** A fixed-width table. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}
