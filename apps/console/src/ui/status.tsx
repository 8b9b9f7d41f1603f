/**
 * Statuses of runs and steps, as text and colour (the colour never carries the meaning alone).
 * `queued` is a run waiting for a slot of its project (DESIGN §3).
 */
export const STATUSES = ['pending', 'queued', 'dispatched', 'verifying', 'running', 'succeeded', 'failed', 'skipped', 'cancelled'] as const;

export function StatusBadge({ status }: { status: string }) {
  return <span className={`status status-${status}`}>{status}</span>;
}

export const FINAL_STATUSES = new Set(['succeeded', 'failed', 'skipped', 'cancelled']);
