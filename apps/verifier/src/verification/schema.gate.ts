import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import type { GateOutcome, Violation } from '@trellis/contracts';

/** Enough for the author to fix the output; more would crowd the feedback. */
const MAX_ISSUES = 10;
const MAX_CACHED = 500;

/**
 * The `schema` gate: the output must be JSON valid against the step's `output.schema`
 * (converted with zod 4's `z.fromJSONSchema`, cached by the schema's text). A mismatch is a
 * critical violation: downstream steps, conditions and products read those fields.
 */
@Injectable()
export class SchemaGate {
  private readonly validators = new Map<string, z.ZodType | string>();

  evaluate(output: string, schema: Record<string, unknown> | undefined): GateOutcome {
    let value: unknown;
    try {
      value = JSON.parse(output);
    } catch (error) {
      return failed([{ rule: 'schema', severity: 'critical', message: `output is not valid JSON: ${(error as Error).message}` }]);
    }
    if (schema === undefined) return passed();
    const validator = this.validatorFor(schema);
    if (typeof validator === 'string') return failed([{ rule: 'schema', severity: 'critical', message: `the step's output schema cannot be checked: ${validator}` }]);
    const result = validator.safeParse(value);
    if (result.success) return passed();
    const issues = result.error.issues.slice(0, MAX_ISSUES).map(
      (i): Violation => ({ rule: 'schema', severity: 'critical', message: `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}` }),
    );
    if (result.error.issues.length > MAX_ISSUES) issues.push({ rule: 'schema', severity: 'critical', message: `… and ${result.error.issues.length - MAX_ISSUES} more schema issues` });
    return failed(issues);
  }

  private validatorFor(schema: Record<string, unknown>): z.ZodType | string {
    const key = JSON.stringify(schema);
    let validator = this.validators.get(key);
    if (validator === undefined) {
      try {
        validator = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
      } catch (error) {
        validator = (error as Error).message;
      }
      if (this.validators.size >= MAX_CACHED) this.validators.clear();
      this.validators.set(key, validator);
    }
    return validator;
  }
}

function passed(): GateOutcome {
  return { gate: 'schema', score: 1, weight: 1, categories: { schema: 1 }, violations: [] };
}

function failed(violations: Violation[]): GateOutcome {
  return { gate: 'schema', score: 0, weight: 1, categories: { schema: 0 }, violations };
}
