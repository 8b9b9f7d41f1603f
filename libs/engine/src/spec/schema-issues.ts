import { Gate, PipelineSpec, type Issue } from '@trellis/contracts';
import { z } from 'zod';
import { describeValue } from '../inputs/input-types';
import { isPlainObject } from '../util/records';
import { closest, didYouMean } from '../util/suggest';
import type { SourceLocator } from './parse-source';

type ZodIssue = z.core.$ZodIssue;
type Path = Array<string | number>;

/**
 * Turns zod's issues into messages a pipeline author can act on, placed on the YAML node
 * they are about: an unknown field on its key (with a "did you mean"), a missing field on
 * its parent, a union (gates) on the form the value was closest to.
 */
export function schemaIssues(issues: readonly ZodIssue[], data: unknown, locator: SourceLocator): Issue[] {
  return issues.flatMap((issue) => translate(issue, [], data, locator));
}

function translate(issue: ZodIssue, prefix: Path, data: unknown, locator: SourceLocator): Issue[] {
  const path: Path = [...prefix, ...issue.path.map((s) => (typeof s === 'symbol' ? String(s) : s))];
  const at = (message: string, target: 'value' | 'key' = 'value', where: Path = path): Issue => ({
    path: where,
    message,
    ...locator.locate(where, target),
  });

  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) =>
        at(`unknown field "${key}"${didYouMean(key, knownKeysAt(path))}`, 'key', [...path, key]),
      );
    case 'invalid_key': {
      const what = path.length === 2 && path[0] === 'steps' ? 'step id' : path.length === 2 && path[0] === 'inputs' ? 'input name' : 'key';
      const reason = issue.issues[0]?.message ?? issue.message;
      return [at(`invalid ${what} "${String(path[path.length - 1])}": ${reason}`, 'key')];
    }
    case 'invalid_union': {
      const branch = closestBranch(issue.errors);
      if (branch) return branch.flatMap((inner) => translate(inner, path, data, locator));
      return [at(isGatePath(path) ? gateMessage(valueAt(data, path)) : 'matches none of the allowed forms')];
    }
    case 'invalid_type': {
      const value = valueAt(data, path);
      const last = path[path.length - 1];
      if (value === undefined && typeof last === 'string' && isPlainObject(valueAt(data, path.slice(0, -1)))) {
        return [at(`missing required field "${last}"`)];
      }
      return [at(`expected ${issue.expected}, got ${describeValue(value)}`)];
    }
    default:
      return [at(issue.message.replace(/^Invalid input: /, ''))];
  }
}

/**
 * The union branch the value came closest to: one that did not fail on the value's own
 * type or keys, and the only one with the fewest issues. Otherwise no branch is a fair
 * guess and the caller explains the allowed forms instead.
 */
function closestBranch(branches: readonly ZodIssue[][]): ZodIssue[] | undefined {
  const failsAtRoot = (i: ZodIssue) =>
    i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value' || i.code === 'unrecognized_keys');
  const viable = branches.filter((b) => b.length > 0 && !b.some(failsAtRoot));
  const fewest = Math.min(...viable.map((b) => b.length));
  const best = viable.filter((b) => b.length === fewest);
  return best.length === 1 ? best[0] : undefined;
}

const GATE_KINDS: string[] = Gate.options.flatMap((o) => (o instanceof z.ZodObject ? Object.keys(o.shape) : []));

function isGatePath(path: Path): boolean {
  return path.length >= 2 && path[path.length - 2] === 'gates';
}

function gateMessage(value: unknown): string {
  const forms = `a gate is "json" or an object with one of: ${GATE_KINDS.join(', ')}`;
  if (typeof value === 'string') return `unknown gate "${value}"${didYouMean(value, ['json', ...GATE_KINDS])} (${forms})`;
  if (isPlainObject(value)) {
    const keys = Object.keys(value);
    const [only] = keys;
    if (keys.length === 1 && only !== undefined) {
      const near = closest(only, GATE_KINDS);
      return `unknown gate "${only}"${near ? `; did you mean "${near}"?` : ''} (${forms})`;
    }
    return `a gate has exactly one kind, got ${keys.length === 0 ? 'none' : keys.join(', ')} (${forms})`;
  }
  return `expected a gate, got ${describeValue(value)} (${forms})`;
}

function valueAt(data: unknown, path: Path): unknown {
  let value = data;
  for (const segment of path) {
    if (Array.isArray(value) && typeof segment === 'number') value = value[segment];
    else if (isPlainObject(value) && Object.prototype.hasOwnProperty.call(value, segment)) value = value[segment];
    else return undefined;
  }
  return value;
}

/** The fields the spec schema allows at `path`, for "did you mean" on an unknown one. */
function knownKeysAt(path: Path): string[] {
  let schema: unknown = PipelineSpec;
  for (const segment of [...path, null]) {
    for (;;) {
      if (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault || schema instanceof z.ZodNullable) schema = schema.unwrap();
      else break;
    }
    if (segment === null) break;
    if (schema instanceof z.ZodObject) schema = (schema.shape as Record<string, unknown>)[String(segment)];
    else if (schema instanceof z.ZodRecord) schema = schema.valueType;
    else if (schema instanceof z.ZodArray) schema = schema.element;
    else return [];
  }
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}
