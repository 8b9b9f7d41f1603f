import { parseInputs, UsageError } from './run.command';

describe('parseInputs', () => {
  const pipeline = { spec: { inputs: { idea: { type: 'string' }, n: { type: 'integer' }, fast: { type: 'boolean' }, tags: { type: 'array' } } } };

  it('converts each value to the type the pipeline declares', () => {
    expect(parseInputs(['idea=42', 'n=3', 'fast=true', 'tags=["a","b"]', 'note=a=b'], pipeline)).toEqual({ idea: '42', n: 3, fast: true, tags: ['a', 'b'], note: 'a=b' });
  });

  it('names the input whose value does not fit', () => {
    expect(() => parseInputs(['n=three'], pipeline)).toThrow(new UsageError('--input n must be a number'));
    expect(() => parseInputs(['fast=yes'], pipeline)).toThrow(/fast must be true or false/);
    expect(() => parseInputs(['idea'], pipeline)).toThrow(/name=value/);
  });
});
