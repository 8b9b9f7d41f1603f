import { Injectable } from '@nestjs/common';
import type { OutboxRow, RecordedCall } from '@trellis/contracts';
import type { RunRecord, RunSnapshot, StepRecord } from '@trellis/engine';
import { Database, type SqlResult } from '@trellis/persistence';
import { logger } from '@trellis/telemetry';
import { runOf, RunSql, snapshotsOf, type RunListQuery } from './run-table';
import { callOf, StepCallSql, type StoredCall } from './step-call-table';

/** What one transaction writes: each run's merged patches, from the version it was decided on. */
export interface RunWrite {
  /** The run as it was decided on; `next` is what it became. */
  before: RunSnapshot;
  next: RunSnapshot;
  run: Partial<RunRecord>;
  steps: Record<string, Partial<StepRecord>>;
  /** Calls to add to the run's recording (ADR 0015). */
  calls?: StoredCall[];
}

/** A new run to insert, as it stands after its first change, and the recorded calls it starts with (a replay's carried-over steps'). */
export type NewRunWrite = Pick<RunWrite, 'next' | 'calls'>;

/** How many runs the cache keeps; past it, the least recently used are dropped (and read again if needed). */
const CACHED_RUNS = 20_000;

/**
 * The planner's run state in PostgreSQL (ADR 0011). It keeps the runs it wrote last in
 * memory: a change to a cached run costs one round trip, its writes guarded by the version
 * the cache holds, which fails the whole transaction if another planner moved the run;
 * a run not cached, or that moved, is read with a row lock first (two round trips). What it
 * writes is exactly the fields the engine changed.
 */
@Injectable()
export class RunStore {
  private readonly log = logger('run-store');
  private readonly cache = new Map<string, RunSnapshot>();
  readonly sql: RunSql;
  private readonly callSql: StepCallSql;

  constructor(private readonly db: Database) {
    this.sql = new RunSql(db.schema);
    this.callSql = new StepCallSql(db.schema);
  }

  /**
   * Reads the runs (cached, or locked and read), hands them to `decide`, and commits what it
   * returns with the outbox rows, all or nothing. Runs `decide` again on fresh rows if a
   * cached run turned out stale. `decide` must have no effect besides what it returns: it may run twice.
   *
   * A write on a stale cached run is refused by its version guard; an input `decide` left
   * unapplied writes nothing, so its verdict is checked instead (`ignored`): when another
   * planner moved one of the runs since it was cached, the inputs are decided again on the rows
   * as stored — a stale copy must never be the reason a result is dropped or held back.
   */
  async transact<T>(
    runIds: readonly string[],
    decide: (runs: ReadonlyMap<string, RunSnapshot>) => Promise<{ writes: RunWrite[]; outbox: OutboxRow[]; value: T; ignored?: boolean }>,
  ): Promise<T> {
    const ids = [...new Set(runIds)].sort();
    const cached = new Map<string, RunSnapshot>();
    for (const id of ids) {
      const hit = this.cache.get(id);
      if (hit) cached.set(id, hit);
    }
    if (cached.size === ids.length) {
      const decided = await decide(cached);
      const stale = decided.ignored ? await this.staleOf(cached) : [];
      for (const id of stale) this.cache.delete(id);
      if (stale.length) this.log.debug({ runs: stale.length }, 'an input was ignored on a stale cached run; deciding again on what is stored');
      else if (!decided.writes.length) return decided.value;
      else {
        try {
          await this.db.sqlAtomic(this.statements(decided.writes, true), decided.outbox);
          this.remember(decided.writes);
          return decided.value;
        } catch (err) {
          if (!isSerializationFailure(err)) throw err;
          // Another planner moved one of these runs: forget them and decide on what is stored.
          this.log.debug({ runs: ids.length }, 'cached runs were stale; reading them again');
          for (const id of ids) this.cache.delete(id);
        }
      }
    }
    return this.db.sqlTransaction(this.sql.selectForUpdate(ids), async (tx, [runRows, stepRows]) => {
      const loaded = snapshotsOf(runRows?.rows ?? [], stepRows?.rows ?? []);
      const decided = await decide(loaded);
      // Nothing applied: the transaction ends without a write (rolled back), the locks released.
      if (!decided.writes.length) return decided.value;
      for (const statement of this.statements(decided.writes, false)) tx.write(statement);
      for (const row of decided.outbox) tx.outbox(row);
      await tx.commit();
      this.remember(decided.writes);
      return decided.value;
    });
  }

  /** The cached runs whose stored version moved past the cached one (another planner wrote them). */
  private async staleOf(cached: ReadonlyMap<string, RunSnapshot>): Promise<string[]> {
    const [found] = await this.db.sqlQuery([this.sql.versions([...cached.keys()])]);
    const stored = new Map((found?.rows ?? []).map((r) => [String(r.id), Number(r.version)]));
    return [...cached].filter(([id, snapshot]) => stored.get(id) !== snapshot.run.version).map(([id]) => id);
  }

  /**
   * A transaction for admission (ADR 0014): `open` is read with `begin` (a project's advisory
   * lock and its counts), then `work` decides — it may read more, e.g. lock the queued runs it
   * chose — and returns new runs to insert (as they stand after their first change), changes
   * of existing runs, and the outbox rows; all are committed together and cached.
   */
  async locked<T>(
    open: string[],
    work: (results: SqlResult[], read: (statements: readonly string[]) => Promise<SqlResult[]>) => Promise<{ inserts: NewRunWrite[]; writes: RunWrite[]; outbox: OutboxRow[]; value: T }>,
  ): Promise<T> {
    return this.db.sqlTransaction(open, async (tx, results) => {
      const decided = await work(results, (statements) => tx.read(statements));
      if (!decided.inserts.length && !decided.writes.length) return decided.value;
      for (const statement of this.sql.insert(decided.inserts.map((run) => run.next))) tx.write(statement);
      for (const statement of [...this.callStatements(decided.inserts), ...this.statements(decided.writes, false)]) tx.write(statement);
      for (const row of decided.outbox) tx.outbox(row);
      await tx.commit();
      this.remember([...decided.inserts, ...decided.writes]);
      return decided.value;
    });
  }

  /** The locked runs of an admission pass, with their steps (inside `locked`). */
  selectForUpdate(ids: readonly string[]): string[] {
    return this.sql.selectForUpdate(ids);
  }

  /** A run of a project as stored now, for reading (the cache is for this process's writes). */
  async read(project: string, runId: string): Promise<RunSnapshot | undefined> {
    const [runs, steps] = await this.db.sqlQuery(this.sql.selectRun(project, runId));
    return snapshotsOf(runs?.rows ?? [], steps?.rows ?? []).get(runId);
  }

  /** A run as stored now, whatever its project (the planner's own jobs). */
  async readById(runId: string): Promise<RunSnapshot | undefined> {
    const [runs, steps] = await this.db.sqlQuery(this.sql.selectRun(undefined, runId));
    return snapshotsOf(runs?.rows ?? [], steps?.rows ?? []).get(runId);
  }

  /** A run's recorded calls, oldest first. */
  async calls(runId: string): Promise<RecordedCall[]> {
    const [found] = await this.db.sqlQuery([this.callSql.select(runId)]);
    return (found?.rows ?? []).map(callOf);
  }

  async exists(project: string, runId: string): Promise<boolean> {
    const [found] = await this.db.sqlQuery([this.sql.exists(project, runId)]);
    return (found?.rowCount ?? 0) > 0;
  }

  async list(query: RunListQuery): Promise<RunRecord[]> {
    const [page] = await this.db.sqlQuery([this.sql.list(query)]);
    return (page?.rows ?? []).map(runOf);
  }

  /** Reads outside any transaction, in one round trip. */
  query(statements: readonly string[]): Promise<SqlResult[]> {
    return this.db.sqlQuery(statements);
  }

  /** Drops a run from the cache (deleted, or no longer this process's business). */
  forget(runId: string): void {
    this.cache.delete(runId);
  }

  private statements(writes: readonly RunWrite[], guarded: boolean): string[] {
    const statements: string[] = [];
    const runs = writes.map((w) => ({ id: w.before.run.id, expected: w.before.run.version, patch: w.run }));
    if (guarded) statements.push(this.sql.updateRunsAt(runs));
    else for (const r of runs) if (Object.keys(r.patch).length) statements.push(this.sql.updateRun(r.id, r.patch));
    statements.push(...this.sql.updateSteps(writes.flatMap((w) => Object.entries(w.steps).map(([stepId, patch]) => ({ runId: w.before.run.id, stepId, patch })))));
    statements.push(...this.callStatements(writes));
    return statements;
  }

  private callStatements(writes: ReadonlyArray<Pick<RunWrite, 'calls'>>): string[] {
    const calls = writes.flatMap((w) => w.calls ?? []);
    return calls.length ? [this.callSql.insert(calls)] : [];
  }

  /** Keeps what was just committed; a run that ended is not needed again (a resume reads it), nor one still queued. */
  private remember(writes: ReadonlyArray<Pick<RunWrite, 'next'>>): void {
    for (const { next } of writes) {
      this.cache.delete(next.run.id);
      if (next.run.status === 'running') this.cache.set(next.run.id, next);
    }
    while (this.cache.size > CACHED_RUNS) this.cache.delete(this.cache.keys().next().value!);
  }
}

function isSerializationFailure(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '40001';
}
