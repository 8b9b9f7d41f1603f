import type { RunStatus } from '@trellis/contracts';
import type { RunRecord, RunSnapshot, StepRecord } from '@trellis/engine';
import { sqlLiteral, sqlTable, type SqlKind } from '@trellis/persistence';

/**
 * The run and step tables, defined once (ADR 0011): every field of the engine's
 * `RunRecord`/`StepRecord` has exactly one column here (the mapped type makes a missing or
 * extra one a compile error), named in snake case. Values a user sees back as they were sent
 * (inputs, structured outputs and the rounds that keep them) are `json`, which keeps the key
 * order `jsonb` would lose. Reads, the hot path's writes and the
 * check of the migrated schema (run-table.int-spec.ts) all come from these lists; the
 * migrations create what they describe.
 */
export type Columns<T> = { readonly [K in keyof T]-?: SqlKind };

const RUN: Columns<RunRecord> = {
  id: 'text',
  project: 'text',
  pipeline: 'text',
  pipelineVersion: 'int',
  specHash: 'text',
  status: 'text',
  inputs: 'ordered-json',
  inputTokens: 'int',
  outputTokens: 'int',
  cost: 'float',
  error: 'json',
  products: 'json',
  templates: 'json',
  strategies: 'json',
  subject: 'text',
  stream: 'bool',
  actor: 'text',
  recording: 'bool',
  source: 'json',
  replayCalls: 'ordered-json',
  priority: 'int',
  concurrencyKey: 'text',
  startedAt: 'time',
  version: 'int',
  createdAt: 'time',
  finishedAt: 'time',
};

const STEP: Columns<StepRecord> = {
  runId: 'text',
  stepId: 'text',
  status: 'text',
  attempt: 'int',
  model: 'text',
  output: 'text',
  structured: 'ordered-json',
  activated: 'bool',
  messages: 'json',
  error: 'json',
  score: 'float',
  inputTokens: 'int',
  outputTokens: 'int',
  cost: 'float',
  executor: 'text',
  dispatchedAt: 'time',
  startedAt: 'time',
  finishedAt: 'time',
  iterations: 'ordered-json',
  stopReason: 'text',
  origin: 'text',
};

const snake = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export interface Table<T> {
  name: string;
  /** [field, kind, column] in declaration order. */
  columns: ReadonlyArray<readonly [keyof T & string, SqlKind, string]>;
  byField: ReadonlyMap<string, readonly [SqlKind, string]>;
}

export function table<T>(name: string, columns: Columns<T>): Table<T> {
  const list = Object.entries(columns).map(([field, kind]) => [field as keyof T & string, kind as SqlKind, snake(field)] as const);
  return { name, columns: list, byField: new Map(list.map(([field, kind, column]) => [field, [kind, column] as const])) };
}

export const RUN_TABLE = table<RunRecord>('run', RUN);
export const STEP_TABLE = table<StepRecord>('step_run', STEP);

/** A row as pg returns it → the record: doubles and ints arrive as numbers, jsonb parsed, timestamptz as Date. */
export function fromRow<T>(t: Table<T>, row: Record<string, unknown>): T {
  const record: Record<string, unknown> = {};
  for (const [field, kind, column] of t.columns) {
    const value = row[column] ?? null;
    record[field] = value !== null && (kind === 'float' || kind === 'int') ? Number(value) : value;
  }
  return record as T;
}

export function values<T>(t: Table<T>, record: T): string {
  return `(${t.columns.map(([field, kind]) => sqlLiteral((record as Record<string, unknown>)[field], kind)).join(', ')})`;
}

export function names<T>(t: Table<T>): string {
  return t.columns.map(([, , column]) => `"${column}"`).join(', ');
}

/** The SQL type of each kind: a `null` in a `values` list must say it, or the column would be taken for text. */
const SQL_TYPE: Readonly<Record<SqlKind, string>> = { text: 'text', int: 'int', float: 'float8', bool: 'bool', json: 'jsonb', 'ordered-json': 'json', time: 'timestamptz' };

/** A literal whose type PostgreSQL knows without its column (a cell of a `values` list). */
function typedLiteral(value: unknown, kind: SqlKind): string {
  return value === null || value === undefined ? `null::${SQL_TYPE[kind]}` : sqlLiteral(value, kind);
}

/** `set` clauses of the patched fields. */
function assignments<T>(t: Table<T>, patch: Partial<T>): string[] {
  const out: string[] = [];
  for (const [field, value] of Object.entries(patch)) {
    const column = t.byField.get(field);
    if (!column) throw new Error(`${t.name} has no column for "${field}"`);
    out.push(`"${column[1]}" = ${sqlLiteral(value, column[0])}`);
  }
  return out;
}

/** Patches grouped by the fields they set (sorted names), in the order the groups first appear. */
function byShape<U extends { patch: object }>(updates: readonly U[]): Array<[string[], U[]]> {
  const groups = new Map<string, [string[], U[]]>();
  for (const update of updates) {
    const fields = Object.keys(update.patch).sort();
    const key = fields.join(',');
    const group = groups.get(key);
    if (group) group[1].push(update);
    else groups.set(key, [fields, [update]]);
  }
  return [...groups.values()];
}

/** The columns a group of patches sets; `keys` (the fields the rows are matched on) may not be among them. */
function patchColumns<T>(t: Table<T>, fields: readonly string[], keys: readonly string[]): Array<{ field: string; kind: SqlKind; name: string }> {
  return fields.map((field) => {
    const column = t.byField.get(field as keyof T & string);
    if (!column || keys.includes(field)) throw new Error(`${t.name}: "${field}" is not a column a patch may set`);
    return { field, kind: column[0], name: `"${column[1]}"` };
  });
}

/** A patch's values in `columns` order, typed for a `values` list. */
function cells(columns: ReadonlyArray<{ field: string; kind: SqlKind }>, patch: object): string[] {
  return columns.map(({ field, kind }) => typedLiteral((patch as Record<string, unknown>)[field], kind));
}

/** What a page of runs is filtered by; every field but the project and the page size is optional. */
export interface RunListQuery {
  project: string;
  limit: number;
  /** The last id of the previous page. */
  before?: string;
  status?: RunStatus;
  pipeline?: string;
  createdFrom?: Date;
  createdTo?: Date;
  /** A whole run id, or its first characters (lower-case). */
  id?: string;
  /** Text one of the input values contains, case-insensitively. */
  input?: string;
}

/** `LIKE` reads `%`, `_` and a backslash literally when a backslash (its default escape) precedes them. */
const likeEscape = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** SQL over the run tables of one schema. Every value goes through `sqlLiteral`. */
export class RunSql {
  readonly runs: string;
  readonly steps: string;

  constructor(readonly schema: string) {
    this.runs = sqlTable(schema, RUN_TABLE.name);
    this.steps = sqlTable(schema, STEP_TABLE.name);
  }

  /** New runs and their steps, two statements however many (the runs first, which the steps reference). */
  insert(snapshots: readonly RunSnapshot[]): string[] {
    if (!snapshots.length) return [];
    const steps = snapshots.flatMap((snapshot) => Object.values(snapshot.steps));
    const statements = [`insert into ${this.runs} (${names(RUN_TABLE)}) values ${snapshots.map((snapshot) => values(RUN_TABLE, snapshot.run)).join(', ')}`];
    if (steps.length) statements.push(`insert into ${this.steps} (${names(STEP_TABLE)}) values ${steps.map((s) => values(STEP_TABLE, s)).join(', ')}`);
    return statements;
  }

  /**
   * One statement that writes the patches of several runs, each only if the run is still at
   * the version this process last saw, and fails the transaction (40001) unless all are: the
   * check of the planner's cache (ADR 0011). Runs whose patches set the same fields share one
   * `update … from (values …)` (a batch is a handful of plans for PostgreSQL, not one per run).
   */
  updateRunsAt(updates: ReadonlyArray<{ id: string; expected: number; patch: Partial<RunRecord> }>): string {
    const ctes = byShape(updates).map(([fields, group], i) => {
      const columns = patchColumns(RUN_TABLE, fields, ['id', 'version'].filter((f) => !fields.includes(f)));
      const rows = group.map((u) => `(${[sqlLiteral(u.id, 'text'), sqlLiteral(u.expected, 'int'), ...cells(columns, u.patch)].join(', ')})`);
      const set = columns.length ? columns.map((c) => `${c.name} = v.${c.name}`).join(', ') : '"version" = r."version"';
      return `u${i} as (update ${this.runs} as r set ${set}
        from (values ${rows.join(', ')}) as v("id", "expected"${columns.map((c) => `, ${c.name}`).join('')})
        where r."id" = v."id" and r."version" = v."expected" returning 1)`;
    });
    const matched = ctes.map((_, i) => `(select count(*) from u${i})`).join(' + ');
    return `with ${ctes.join(', ')} select ${sqlTable(this.schema, 'expect_rows')}(${matched}, ${updates.length})`;
  }

  /** The patch of a run locked in this transaction. */
  updateRun(id: string, patch: Partial<RunRecord>): string {
    return `update ${this.runs} set ${assignments(RUN_TABLE, patch).join(', ')} where "id" = ${sqlLiteral(id, 'text')}`;
  }

  updateStep(runId: string, stepId: string, patch: Partial<StepRecord>): string {
    return `update ${this.steps} set ${assignments(STEP_TABLE, patch).join(', ')} where "run_id" = ${sqlLiteral(runId, 'text')} and "step_id" = ${sqlLiteral(stepId, 'text')}`;
  }

  /**
   * The patches of several steps. Steps whose patches set the same fields share one
   * statement (`update … from (values …)`): a commit that dispatches or records many steps
   * costs PostgreSQL a few statements to parse and plan, not one per step.
   */
  updateSteps(updates: ReadonlyArray<{ runId: string; stepId: string; patch: Partial<StepRecord> }>): string[] {
    return byShape(updates.filter((u) => Object.keys(u.patch).length)).map(([fields, group]) => {
      if (group.length === 1) return this.updateStep(group[0]!.runId, group[0]!.stepId, group[0]!.patch);
      const columns = patchColumns(STEP_TABLE, fields, ['runId', 'stepId']);
      const rows = group.map(({ runId, stepId, patch }) => `(${[sqlLiteral(runId, 'text'), sqlLiteral(stepId, 'text'), ...cells(columns, patch)].join(', ')})`);
      return `update ${this.steps} as s set ${columns.map((c) => `${c.name} = v.${c.name}`).join(', ')}
        from (values ${rows.join(', ')}) as v("run_id", "step_id", ${columns.map((c) => c.name).join(', ')})
        where s."run_id" = v."run_id" and s."step_id" = v."step_id"`;
    });
  }

  /**
   * Runs locked for the transaction in id order (so batches that share runs take turns
   * instead of deadlocking), then their steps. Two statements, not a join: under READ
   * COMMITTED each takes its own snapshot, so the steps are read after the locks are granted
   * and include what the previous holder committed.
   */
  selectForUpdate(ids: readonly string[]): string[] {
    const list = ids.map((id) => sqlLiteral(id, 'text')).join(', ');
    return [`select * from ${this.runs} where "id" in (${list}) order by "id" for update`, `select * from ${this.steps} where "run_id" in (${list})`];
  }

  /** The runs' versions as stored: whether a cached copy is current. */
  versions(ids: readonly string[]): string {
    return `select "id", "version" from ${this.runs} where "id" in (${ids.map((id) => sqlLiteral(id, 'text')).join(', ')})`;
  }

  /** One run (of `project`, when given) and its steps, for reading. */
  selectRun(project: string | undefined, id: string): string[] {
    const run = sqlLiteral(id, 'text');
    const ofProject = project === undefined ? '' : ` and "project" = ${sqlLiteral(project, 'text')}`;
    return [`select * from ${this.runs} where "id" = ${run}${ofProject}`, `select * from ${this.steps} where "run_id" = ${run}`];
  }

  exists(project: string, id: string): string {
    return `select 1 from ${this.runs} where "id" = ${sqlLiteral(id, 'text')} and "project" = ${sqlLiteral(project, 'text')}`;
  }

  /**
   * A page of a project's runs, newest first, keyset-paginated by id (uuid v7 ids sort by
   * creation), every filter in SQL. Ids compare byte-wise (`collate "C"`) so that a page, its
   * cursor and an id prefix walk one index, `(project, id)`, whatever the database's collation
   * (a prefix `LIKE` uses a btree only under "C"); status and pipeline have their own
   * `(project, …, id)` indexes, the input search a trigram index over the inputs' values
   * (migration PlannerRunList).
   */
  list(query: RunListQuery): string {
    const where = [`"project" = ${sqlLiteral(query.project, 'text')}`];
    if (query.before) where.push(`"id" collate "C" < ${sqlLiteral(query.before, 'text')}`);
    if (query.status) where.push(`"status" = ${sqlLiteral(query.status, 'text')}`);
    if (query.pipeline) where.push(`"pipeline" = ${sqlLiteral(query.pipeline, 'text')}`);
    if (query.createdFrom) where.push(`"created_at" >= ${sqlLiteral(query.createdFrom, 'time')}`);
    if (query.createdTo) where.push(`"created_at" < ${sqlLiteral(query.createdTo, 'time')}`);
    if (query.id) where.push(query.id.length === 36 ? `"id" = ${sqlLiteral(query.id, 'text')}` : `"id" collate "C" like ${sqlLiteral(`${likeEscape(query.id)}%`, 'text')}`);
    // The input values as one text: the expression the trigram index is built on (PlannerRunList).
    if (query.input) where.push(`"${this.schema}"."run_input_text"("inputs") ilike ${sqlLiteral(`%${likeEscape(query.input)}%`, 'text')}`);
    const columns = RUN_TABLE.columns.filter(([field]) => field !== 'inputs' && field !== 'templates' && field !== 'strategies' && field !== 'products' && field !== 'replayCalls').map(([, , c]) => `"${c}"`);
    return `select ${columns.join(', ')} from ${this.runs} where ${where.join(' and ')} order by "id" collate "C" desc limit ${sqlLiteral(query.limit, 'int')}`;
  }

  /**
   * What admission decides new runs on, read under transaction-level advisory locks of their
   * projects, taken in order (so concurrent starts and admission passes of one project take turns,
   * never both take the last slot, and never deadlock): each project's running runs, those of
   * each concurrency group asked about, the queued runs per priority (a new run's place behind
   * them), and the mean duration of each pipeline's recent runs (for the wait estimate).
   */
  admissionCounts(projects: readonly string[], groups: ReadonlyArray<readonly [project: string, group: string]>, pipelines: ReadonlyArray<readonly [project: string, pipeline: string]>): string[] {
    const list = (values: readonly string[]) => `array[${values.map((v) => sqlLiteral(v, 'text')).join(', ')}]::text[]`;
    const ps = list([...projects].sort());
    const pairs = (rows: ReadonlyArray<readonly [string, string]>) => (rows.length ? rows.map(([a, b]) => `(${sqlLiteral(a, 'text')}, ${sqlLiteral(b, 'text')})`).join(', ') : '(null, null)');
    return [
      `select pg_advisory_xact_lock(hashtext('trellis-runs:' || p)) from (select unnest(${ps}) as p order by 1) locks`,
      `select "project", count(*)::int as "running" from ${this.runs} where "project" = any(${ps}) and "status" = 'running' group by 1`,
      `select "project", "concurrency_key" as "group", count(*)::int as "running" from ${this.runs}
        where ("project", "concurrency_key") in (${pairs(groups)}) and "status" = 'running' group by 1, 2`,
      `select "project", "priority", count(*)::int as "queued" from ${this.runs} where "project" = any(${ps}) and "status" = 'queued' group by 1, 2`,
      `select p."project", p."pipeline", (${this.meanDuration('p."project"', 'p."pipeline"', true)}) as "meanMs" from (values ${pairs(pipelines)}) as p("project", "pipeline")`,
    ];
  }

  /** The mean wall time (ms) of the pipeline's last 20 finished runs in the project, or null; `raw`: the arguments are SQL expressions. */
  meanDuration(project: string, pipeline: string, raw = false): string {
    const [p, n] = raw ? [project, pipeline] : [sqlLiteral(project, 'text'), sqlLiteral(pipeline, 'text')];
    return `select avg(extract(epoch from ("finished_at" - coalesce("started_at", "created_at"))) * 1000)::float8 as "meanMs" from (
        select "finished_at", "started_at", "created_at" from ${this.runs}
         where "project" = ${p} and "pipeline" = ${n} and "status" = 'succeeded'
         order by "id" collate "C" desc limit 20) recent`;
  }

  /**
   * An admission pass of a project, under its advisory lock: its running runs, the running runs
   * of each concurrency group, and the first queued runs in the order they start (priority,
   * then submission).
   */
  admissionPass(project: string, candidates: number): string[] {
    const p = sqlLiteral(project, 'text');
    return [
      `select pg_advisory_xact_lock(hashtext(${sqlLiteral(`trellis-runs:${project}`, 'text')}))`,
      `select count(*)::int as "running" from ${this.runs} where "project" = ${p} and "status" = 'running'`,
      `select "concurrency_key" as "group", count(*)::int as "running" from ${this.runs} where "project" = ${p} and "status" = 'running' and "concurrency_key" is not null group by 1`,
      `select "id", "spec_hash" as "specHash", "concurrency_key" as "group" from ${this.runs}
        where "project" = ${p} and "status" = 'queued' order by "priority" desc, "id" collate "C" limit ${sqlLiteral(candidates, 'int')}`,
    ];
  }

  /** A queued run's place in its project's queue (1 = next). */
  queuePosition(run: { project: string; id: string; priority: number }): string {
    return `select count(*)::int + 1 as "position" from ${this.runs} where "project" = ${sqlLiteral(run.project, 'text')} and "status" = 'queued'
      and ("priority" > ${sqlLiteral(run.priority, 'int')} or ("priority" = ${sqlLiteral(run.priority, 'int')} and "id" collate "C" < ${sqlLiteral(run.id, 'text')}))`;
  }

  /** Projects with queued runs (an admission pass for each, when a planner starts). */
  queuedProjects(): string {
    return `select distinct "project" from ${this.runs} where "status" = 'queued'`;
  }

  /** Steps held for a dispatch slot, with what fair dispatch orders them by (oldest runs first). */
  heldSteps(): string {
    return `select s."run_id" as "runId", s."step_id" as "stepId", r."project", r."priority", r."spec_hash" as "specHash"
      from ${this.steps} s join ${this.runs} r on r."id" = s."run_id" where s."status" = 'queued' and r."status" = 'running' order by r."id" collate "C"`;
  }

  /** A project's usage today (UTC): tokens and cost of the runs created since midnight, and its runs running and queued. */
  usageToday(project: string): string {
    return `select coalesce(sum("input_tokens") filter (where "created_at" >= date_trunc('day', now() at time zone 'utc') at time zone 'utc'), 0)::bigint as "inputTokens",
                   coalesce(sum("output_tokens") filter (where "created_at" >= date_trunc('day', now() at time zone 'utc') at time zone 'utc'), 0)::bigint as "outputTokens",
                   coalesce(sum("cost") filter (where "created_at" >= date_trunc('day', now() at time zone 'utc') at time zone 'utc'), 0)::float8 as "cost",
                   count(*) filter (where "created_at" >= date_trunc('day', now() at time zone 'utc') at time zone 'utc' and "status" <> 'queued')::int as "started",
                   count(*) filter (where "status" = 'running')::int as "running",
                   count(*) filter (where "status" = 'queued')::int as "queued"
              from ${this.runs} where "project" = ${sqlLiteral(project, 'text')} and ("created_at" >= date_trunc('day', now() at time zone 'utc') at time zone 'utc' or "status" in ('running', 'queued'))`;
  }
}

/** Rows of `selectForUpdate` / `selectRun` → snapshots by run id. */
export function snapshotsOf(runRows: ReadonlyArray<Record<string, unknown>>, stepRows: ReadonlyArray<Record<string, unknown>>): Map<string, RunSnapshot> {
  const stepsOf = new Map<string, Record<string, StepRecord>>();
  for (const row of stepRows) {
    const step = fromRow(STEP_TABLE, row);
    let steps = stepsOf.get(step.runId);
    if (!steps) stepsOf.set(step.runId, (steps = Object.create(null) as Record<string, StepRecord>));
    Object.defineProperty(steps, step.stepId, { value: step, enumerable: true, writable: true, configurable: true });
  }
  return new Map(
    runRows.map((row) => {
      const run = fromRow(RUN_TABLE, row);
      return [run.id, { run, steps: stepsOf.get(run.id) ?? {} }];
    }),
  );
}

/** A row of `list` → the run's fields it selected. */
export function runOf(row: Record<string, unknown>): RunRecord {
  return fromRow(RUN_TABLE, row);
}
