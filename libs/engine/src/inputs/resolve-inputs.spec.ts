import { PipelineSpec } from '@trellis/contracts';
import { resolveInputs } from './resolve-inputs';

const spec = PipelineSpec.parse({
  version: 1,
  name: 'inputs',
  inputs: {
    idea: { type: 'string', required: true },
    count: { type: 'integer', default: 3 },
    ratio: { type: 'number' },
    verbose: { type: 'boolean', default: false },
    options: { type: 'object', default: { depth: 1 } },
    tags: { type: 'array' },
    notes: {},
  },
  steps: { a: { prompt: 'x' } },
});

describe('resolveInputs', () => {
  it('applies defaults and sets optional inputs without a default to null', () => {
    expect(resolveInputs(spec, { idea: 'a tool' })).toEqual({
      ok: true,
      inputs: { idea: 'a tool', count: 3, ratio: null, verbose: false, options: { depth: 1 }, tags: null, notes: null },
    });
  });

  it('keeps given values over defaults', () => {
    const result = resolveInputs(spec, { idea: 'x', count: 10, verbose: true, options: {}, tags: ['a'], ratio: 0.5, notes: 'n' });
    expect(result).toEqual({ ok: true, inputs: { idea: 'x', count: 10, ratio: 0.5, verbose: true, options: {}, tags: ['a'], notes: 'n' } });
  });

  it('copies an object default so a run cannot change the spec', () => {
    const result = resolveInputs(spec, { idea: 'x' });
    if (!result.ok) throw new Error('expected inputs');
    (result.inputs.options as { depth: number }).depth = 99;
    expect(spec.inputs.options?.default).toEqual({ depth: 1 });
  });

  it('reports a missing required input, and null counts as missing', () => {
    expect(resolveInputs(spec, {})).toEqual({ ok: false, issues: [{ path: ['inputs', 'idea'], message: 'missing required input "idea" (string)' }] });
    expect(resolveInputs(spec, { idea: null })).toMatchObject({ ok: false, issues: [{ path: ['inputs', 'idea'] }] });
  });

  it('checks each declared type without coercion', () => {
    const result = resolveInputs(spec, { idea: 42, count: 2.5, ratio: '0.5', verbose: 'yes', options: [], tags: {} });
    expect(result).toEqual({
      ok: false,
      issues: [
        { path: ['inputs', 'idea'], message: 'input "idea" must be a string, got an integer' },
        { path: ['inputs', 'count'], message: 'input "count" must be an integer, got a number' },
        { path: ['inputs', 'ratio'], message: 'input "ratio" must be a number, got a string' },
        { path: ['inputs', 'verbose'], message: 'input "verbose" must be a boolean, got a string' },
        { path: ['inputs', 'options'], message: 'input "options" must be an object, got an array' },
        { path: ['inputs', 'tags'], message: 'input "tags" must be an array, got an object' },
      ],
    });
  });

  it('rejects a number that is not finite', () => {
    expect(resolveInputs(spec, { idea: 'x', ratio: Number.NaN }).ok).toBe(false);
  });

  it('rejects an unknown input with a suggestion', () => {
    expect(resolveInputs(spec, { idea: 'x', idear: 'y' })).toEqual({
      ok: false,
      issues: [
        {
          path: ['inputs', 'idear'],
          message: 'unknown input "idear" (declared inputs: idea, count, ratio, verbose, options, tags, notes); did you mean "idea"?',
        },
      ],
    });
  });

  it('reports every problem at once', () => {
    const result = resolveInputs(spec, { extra: 1, count: 'three' });
    expect(result.ok ? [] : result.issues.map((i) => i.path)).toEqual([
      ['inputs', 'extra'],
      ['inputs', 'idea'],
      ['inputs', 'count'],
    ]);
  });

  it('treats an own "__proto__" input as unknown without touching the prototype', () => {
    const given = JSON.parse('{"idea":"x","__proto__":{"polluted":true}}') as Record<string, unknown>;
    const result = resolveInputs(spec, given);
    expect(result).toMatchObject({ ok: false, issues: [{ path: ['inputs', '__proto__'] }] });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
