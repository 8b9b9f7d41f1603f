import { sqlLiteral, sqlTable, type SqlKind } from '@trellis/persistence';
import { Run, StepRun } from './run.entity';

/**
 * The run and step tables as plain SQL, for the paths where the ORM's cost matters: the
 * planner starting runs and applying step results (ADR 0008). Rows are read into the same
 * entity classes the rest of the planner uses, and written back as one `update` per changed
 * row, of the changed columns only. The column lists mirror run.entity.ts and the migrations; run-rows.int-spec.ts
 * checks that they agree with the ORM.
 */
type Columns<T> = ReadonlyArray<readonly [prop: keyof T & string, kind: SqlKind, column: string]>;

/** The columns of an entity: property, kind, and the column's name (snake case, computed once). */
const defineColumns = <T>(list: ReadonlyArray<readonly [keyof T & string, SqlKind]>): Columns<T> =>
  list.map(([prop, kind]) => [prop, kind, prop.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] as const);

const RUN_COLUMNS = defineColumns<Run>([
  ['id', 'text'],
  ['project', 'text'],
  ['pipeline', 'text'],
  ['pipelineVersion', 'int'],
  ['specHash', 'text'],
  ['status', 'text'],
  ['inputs', 'json'],
  ['inputTokens', 'int'],
  ['outputTokens', 'int'],
  ['cost', 'float'],
  ['error', 'json'],
  ['products', 'json'],
  ['templates', 'json'],
  ['subject', 'text'],
  ['stream', 'bool'],
  ['actor', 'text'],
  ['createdAt', 'time'],
  ['finishedAt', 'time'],
]);

const STEP_COLUMNS = defineColumns<StepRun>([
  ['runId', 'text'],
  ['stepId', 'text'],
  ['status', 'text'],
  ['attempt', 'int'],
  ['model', 'text'],
  ['output', 'text'],
  ['structured', 'json'],
  ['activated', 'bool'],
  ['messages', 'json'],
  ['error', 'json'],
  ['score', 'float'],
  ['inputTokens', 'int'],
  ['outputTokens', 'int'],
  ['cost', 'float'],
  ['executor', 'text'],
  ['dispatchedAt', 'time'],
  ['startedAt', 'time'],
  ['finishedAt', 'time'],
  ['iterations', 'json'],
  ['stopReason', 'text'],
]);

/** A value as compared for change: JSON by its text, a time by its instant. */
function fingerprint(value: unknown, kind: SqlKind): unknown {
  if (value === null || value === undefined) return null;
  if (kind === 'json') return JSON.stringify(value);
  if (kind === 'time') return new Date(value as Date).getTime();
  return value;
}

function fromRow<T extends object>(entity: T, columns: Columns<T>, row: Record<string, unknown>): T {
  const target = entity as Record<string, unknown>;
  for (const [prop, , name] of columns) target[prop] = row[name] ?? null;
  return entity;
}

function fingerprints<T extends object>(entity: T, columns: Columns<T>): unknown[] {
  return columns.map(([prop, kind]) => fingerprint((entity as Record<string, unknown>)[prop], kind));
}

/** `set` clauses for the columns whose value differs from the fingerprints taken at load. */
function changes<T extends object>(entity: T, columns: Columns<T>, loaded: unknown[]): string[] {
  const now = fingerprints(entity, columns);
  return columns.flatMap(([prop, kind, name], i) => (now[i] === loaded[i] ? [] : [`"${name}" = ${sqlLiteral((entity as Record<string, unknown>)[prop], kind)}`]));
}

/** A run and its steps as loaded in a transaction, and the statements that store what changed since. */
export class RunRows {
  private readonly runLoaded: unknown[];
  private readonly stepsLoaded: Map<StepRun, unknown[]>;
  /** The steps by id, as the engine's decision names them. */
  readonly stepsById: Map<string, StepRun>;

  private constructor(
    private readonly schema: string,
    readonly run: Run,
    readonly steps: StepRun[],
  ) {
    this.runLoaded = fingerprints(run, RUN_COLUMNS);
    this.stepsLoaded = new Map(steps.map((s) => [s, fingerprints(s, STEP_COLUMNS)]));
    this.stepsById = new Map(steps.map((s) => [s.stepId, s]));
  }

  /**
   * The statements that read runs, locked for the transaction in id order (so concurrent
   * batches of overlapping runs take turns instead of deadlocking), and then their steps.
   */
  static select(schema: string, runIds: readonly string[]): string[] {
    const ids = runIds.map((id) => sqlLiteral(id, 'text')).join(', ');
    // Two statements, not a join: under READ COMMITTED each takes its own snapshot, so the
    // steps are read after the locks are granted and include what the previous holder committed.
    return [
      `select * from ${sqlTable(schema, 'run')} where "id" in (${ids}) order by "id" for update`,
      `select * from ${sqlTable(schema, 'step_run')} where "run_id" in (${ids})`,
    ];
  }

  /** The runs of `select`'s results, by id. */
  static load(schema: string, runRows: Array<Record<string, unknown>>, stepRows: Array<Record<string, unknown>>): Map<string, RunRows> {
    const stepsOf = new Map<unknown, StepRun[]>();
    for (const row of stepRows) {
      const step = fromRow(new StepRun(), STEP_COLUMNS, row);
      const list = stepsOf.get(step.runId);
      if (list) list.push(step);
      else stepsOf.set(step.runId, [step]);
    }
    return new Map(
      runRows.map((row) => {
        const run = fromRow(new Run(), RUN_COLUMNS, row);
        return [run.id, new RunRows(schema, run, stepsOf.get(run.id) ?? [])];
      }),
    );
  }

  /** A new run, as `start` writes it: running, nothing spent yet. */
  static newRun(fields: Pick<Run, 'id' | 'project' | 'pipeline' | 'pipelineVersion' | 'specHash' | 'inputs' | 'templates' | 'subject' | 'stream' | 'actor' | 'createdAt'>): Run {
    return Object.assign(new Run(), { status: 'running', inputTokens: 0, outputTokens: 0, cost: 0, error: null, products: [], finishedAt: null, ...fields } satisfies Omit<Run, never>);
  }

  /** A step of a new run: pending, never attempted. */
  static newStep(runId: string, stepId: string, model: string): StepRun {
    return Object.assign(new StepRun(), {
      runId,
      stepId,
      status: 'pending',
      attempt: 0,
      model,
      output: null,
      structured: null,
      activated: false,
      messages: null,
      error: null,
      score: null,
      inputTokens: 0,
      outputTokens: 0,
      cost: 0,
      executor: null,
      dispatchedAt: null,
      startedAt: null,
      finishedAt: null,
      iterations: [],
      stopReason: null,
    } satisfies Omit<StepRun, never>);
  }

  /**
   * The statements that count a project's running runs for its quota. A transaction-level
   * advisory lock per project makes concurrent starts take turns, so two cannot both take
   * the last slot.
   */
  static countRunning(schema: string, project: string): string[] {
    const p = sqlLiteral(project, 'text');
    return [
      `select pg_advisory_xact_lock(hashtext(${sqlLiteral(`trellis-runs:${project}`, 'text')}))`,
      `select count(*) as running from ${sqlTable(schema, 'run')} where "project" = ${p} and "status" = 'running'`,
    ];
  }

  /** Inserts a new run and its steps: the run first, which the steps reference. */
  static insert(schema: string, run: Run, steps: readonly StepRun[]): string[] {
    const values = <T extends object>(entity: T, columns: Columns<T>) => `(${columns.map(([prop, kind]) => sqlLiteral((entity as Record<string, unknown>)[prop], kind)).join(', ')})`;
    const names = <T>(columns: Columns<T>) => columns.map(([, , name]) => `"${name}"`).join(', ');
    const statements = [`insert into ${sqlTable(schema, 'run')} (${names(RUN_COLUMNS)}) values ${values(run, RUN_COLUMNS)}`];
    if (steps.length) statements.push(`insert into ${sqlTable(schema, 'step_run')} (${names(STEP_COLUMNS)}) values ${steps.map((s) => values(s, STEP_COLUMNS)).join(', ')}`);
    return statements;
  }

  /** One `update` per row that changed, of its changed columns. */
  updates(): string[] {
    const statements: string[] = [];
    const runSet = changes(this.run, RUN_COLUMNS, this.runLoaded);
    if (runSet.length) statements.push(`update ${sqlTable(this.schema, 'run')} set ${runSet.join(', ')} where "id" = ${sqlLiteral(this.run.id, 'text')}`);
    for (const step of this.steps) {
      const set = changes(step, STEP_COLUMNS, this.stepsLoaded.get(step)!);
      if (set.length) {
        statements.push(
          `update ${sqlTable(this.schema, 'step_run')} set ${set.join(', ')} where "run_id" = ${sqlLiteral(step.runId, 'text')} and "step_id" = ${sqlLiteral(step.stepId, 'text')}`,
        );
      }
    }
    return statements;
  }
}
