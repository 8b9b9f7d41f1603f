import type { RecordedCall } from '@trellis/contracts';
import { sqlLiteral, sqlTable } from '@trellis/persistence';
import { fromRow, names, table, values, type Columns } from './run-table';

/** One recorded call as stored: the call and the run it belongs to. */
export interface StoredCall extends RecordedCall {
  runId: string;
}

/**
 * The recording of a run's calls (ADR 0015), defined once like the run tables: one row per
 * call of a step attempt whose result the run applied (its generation, and each judge of its
 * verdict), with the exact request and the answer. The
 * request and answer are `json` (text as sent: cheaper to write than `jsonb`, and never
 * queried inside). Rows go with their run (`on delete cascade`), so retention deletes them.
 */
const CALL: Columns<StoredCall> = {
  runId: 'text',
  stepId: 'text',
  attempt: 'int',
  iteration: 'int',
  call: 'text',
  request: 'ordered-json',
  answer: 'ordered-json',
  at: 'time',
};

export const STEP_CALL_TABLE = table<StoredCall>('step_call', CALL);

export class StepCallSql {
  readonly calls: string;

  constructor(schema: string) {
    this.calls = sqlTable(schema, STEP_CALL_TABLE.name);
  }

  /** A result applied twice (a replayed change) records its call once. */
  insert(calls: readonly StoredCall[]): string {
    return `insert into ${this.calls} (${names(STEP_CALL_TABLE)}) values ${calls.map((c) => values(STEP_CALL_TABLE, c)).join(', ')} on conflict do nothing`;
  }

  /** A run's calls, oldest first. */
  select(runId: string): string {
    return `select * from ${this.calls} where "run_id" = ${sqlLiteral(runId, 'text')} order by "at", "step_id", "attempt", "call"`;
  }
}

/** A row of `select` → the recorded call. */
export function callOf(row: Record<string, unknown>): RecordedCall {
  const { runId: _runId, at, ...call } = fromRow(STEP_CALL_TABLE, row);
  return { ...call, at: new Date(at).toISOString() };
}
