import { InputType, type Issue } from '@trellis/contracts';
import { article, describeValue, hasInputType } from '../inputs/input-types';
import { compilePattern } from '../verify/regex-safety';
import type { SourceLocator } from './parse-source';
import type { SpecOutline } from './spec-outline';

/**
 * `__proto__` is a valid identifier but, as a key of a plain object, sets the prototype
 * instead of a property: a step or input of that name would vanish from every record.
 */
const RESERVED_NAMES = new Set(['__proto__']);

/** Checks the schema cannot express: defaults of the declared type, usable names, safe regex gates. */
export function checkValues(outline: SpecOutline, locator: SourceLocator): Issue[] {
  const issues: Issue[] = [];
  const report = (path: Array<string | number>, message: string, target: 'value' | 'key' = 'value') =>
    issues.push({ path, message, ...locator.locate(path, target) });

  for (const input of outline.inputs) {
    if (RESERVED_NAMES.has(input.name)) report(['inputs', input.name], `"${input.name}" is reserved; choose another input name`, 'key');
    const type = InputType.safeParse(input.type);
    if (!input.hasDefault || !type.success || input.default === null) continue;
    if (!hasInputType(input.default, type.data)) {
      report(['inputs', input.name, 'default'], `default must be ${article(type.data)}, got ${describeValue(input.default)}`);
    }
  }
  for (const step of outline.steps) {
    if (RESERVED_NAMES.has(step.id)) report(['steps', step.id], `"${step.id}" is reserved; choose another step id`, 'key');
    for (const gate of step.regexGates) {
      const check = compilePattern(gate.pattern);
      if (!check.ok) report(['steps', step.id, 'verify', 'gates', gate.index, 'regex'], check.reason);
    }
  }
  return issues;
}
