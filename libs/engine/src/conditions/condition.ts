import { isCelError, parse, run, type CelInput } from '@bufbuild/cel';

/**
 * A step condition: a CEL expression over `inputs` and `steps.<id>.output|score|status`.
 * CEL is not Turing-complete, has no I/O and no access to host objects, so an expression
 * from a pipeline file can be evaluated safely; functions outside CEL's standard set are
 * refused when the pipeline compiles, not when the run reaches the step.
 */
export interface CompiledCondition {
  source: string;
  /** Step ids the expression reads (`steps.<id>…`). */
  steps: string[];
  /** Input names it reads (`inputs.<name>…`). */
  inputs: string[];
}

export interface ConditionProblem {
  message: string;
  /** 1-based, within the expression text. */
  line?: number;
  column?: number;
}

/** What a condition may read about a step. */
export const STEP_FIELDS = ['output', 'score', 'status'] as const;

/** CEL's standard functions and macros; anything else is not callable. */
const STANDARD_FUNCTIONS = new Set([
  'size', 'contains', 'startsWith', 'endsWith', 'matches', 'int', 'uint', 'double', 'string', 'bool', 'bytes',
  'type', 'dyn', 'duration', 'timestamp', 'has', 'all', 'exists', 'exists_one', 'map', 'filter',
]);
const isOperator = (name: string) => name.startsWith('_') || name.startsWith('@') || name === '!_' || name === '-_';

type Expr = { exprKind: { case: string | undefined; value?: any } };

export function compileCondition(source: string): { ok: true; condition: CompiledCondition } | { ok: false; problems: ConditionProblem[] } {
  let root: Expr;
  try {
    root = parse(source).expr as Expr;
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    const at = /^<input>:(\d+):(\d+):\s*(.*)$/s.exec(text);
    return at ? { ok: false, problems: [{ message: `does not parse: ${at[3]}`, line: Number(at[1]), column: Number(at[2]) + 1 }] } : { ok: false, problems: [{ message: `does not parse: ${text}` }] };
  }
  const problems: ConditionProblem[] = [];
  const steps = new Set<string>();
  const inputs = new Set<string>();
  const locals = new Set<string>();
  walk(root, (expr) => {
    const { case: kind, value } = expr.exprKind;
    if (kind === 'callExpr') {
      const name: string = value.function;
      if (!isOperator(name) && !STANDARD_FUNCTIONS.has(name)) problems.push({ message: `unknown function "${name}": conditions use CEL's standard functions only` });
    } else if (kind === 'comprehensionExpr') {
      locals.add(value.iterVar);
      locals.add(value.accuVar);
    }
  });
  walk(root, (expr) => {
    const { case: kind, value } = expr.exprKind;
    if (kind === 'identExpr' && !locals.has(value.name) && value.name !== 'inputs' && value.name !== 'steps') {
      problems.push({ message: `unknown variable "${value.name}": a condition reads inputs.<name> and steps.<id>.output|score|status` });
    }
    if (kind !== 'selectExpr') return;
    const operand: Expr = value.operand;
    if (operand.exprKind.case === 'identExpr' && operand.exprKind.value.name === 'inputs') inputs.add(value.field);
    if (operand.exprKind.case === 'selectExpr') {
      const inner = operand.exprKind.value;
      if (inner.operand.exprKind.case === 'identExpr' && inner.operand.exprKind.value.name === 'steps') {
        steps.add(inner.field);
        if (!(STEP_FIELDS as readonly string[]).includes(value.field)) {
          problems.push({ message: `"steps.${inner.field}.${value.field}": a condition reads a step's output, score or status` });
        }
      }
    }
  });
  if (problems.length) return { ok: false, problems };
  return { ok: true, condition: { source, steps: [...steps], inputs: [...inputs] } };
}

function walk(expr: Expr | undefined, visit: (expr: Expr) => void): void {
  if (!expr?.exprKind) return;
  visit(expr);
  const { case: kind, value } = expr.exprKind;
  switch (kind) {
    case 'selectExpr':
      walk(value.operand, visit);
      break;
    case 'callExpr':
      walk(value.target, visit);
      for (const arg of value.args ?? []) walk(arg, visit);
      break;
    case 'listExpr':
      for (const e of value.elements ?? []) walk(e, visit);
      break;
    case 'structExpr':
      for (const entry of value.entries ?? []) {
        if (entry.keyKind?.case === 'mapKey') walk(entry.keyKind.value, visit);
        walk(entry.value, visit);
      }
      break;
    case 'comprehensionExpr':
      for (const part of ['iterRange', 'accuInit', 'loopCondition', 'loopStep', 'result']) walk(value[part], visit);
      break;
  }
}

/** The values a condition sees. */
export interface ConditionScope {
  inputs: Record<string, unknown>;
  steps: Record<string, { output: unknown; score: number | null; status: string }>;
}

/**
 * Evaluates a compiled condition. A value that is not a boolean, or a runtime error (a field
 * missing from an output, a type mismatch), is a failure of the step, reported with the
 * expression, rather than silently false.
 */
export function evaluateCondition(condition: CompiledCondition, scope: ConditionScope): { ok: true; value: boolean } | { ok: false; message: string } {
  const result = run(condition.source, { inputs: toCel(scope.inputs), steps: toCel(scope.steps) });
  if (isCelError(result)) return { ok: false, message: `condition "${condition.source}" failed: ${result.message}` };
  if (typeof result !== 'boolean') return { ok: false, message: `condition "${condition.source}" is not a boolean` };
  return { ok: true, value: result };
}

/** JSON values as CEL inputs: integers stay doubles (CEL compares int and double literals), null stays null. */
function toCel(value: unknown): CelInput {
  if (Array.isArray(value)) return value.map(toCel);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toCel(v)])) as CelInput;
  return (value ?? null) as CelInput;
}

/**
 * The value of a concurrency key (a CEL expression over `inputs`, compiled like a condition)
 * for one run's inputs, as text: a string as it is, anything else as JSON. A key that fails to
 * evaluate (an input missing at run time) is the run's error, reported with the expression.
 */
export function evaluateKey(key: CompiledCondition, inputs: Record<string, unknown>): { ok: true; value: string } | { ok: false; message: string } {
  const result = run(key.source, { inputs: toCel(inputs), steps: {} });
  if (isCelError(result)) return { ok: false, message: `concurrency key "${key.source}" failed: ${result.message}` };
  return { ok: true, value: typeof result === 'string' ? result : JSON.stringify(result, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? 'null' };
}
