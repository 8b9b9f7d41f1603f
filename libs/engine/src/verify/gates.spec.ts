import type { Gate } from '@trellis/contracts';
import { checkAcceptance } from './acceptance';
import { combineGates, evaluateDeterministicGate, isDeterministicGate, type GateResult } from './gates';
import { MAX_REGEX_INPUT_CHARS } from './regex-safety';

const length = (l: { min?: number; max?: number; unit?: 'chars' | 'tokens' }): Gate => ({ length: { unit: 'chars', ...l } });

/** The deterministic gates' result as the verifier computes it: each gate's outcome, combined. */
const scoreGates = (output: string, gates: readonly Gate[]): GateResult => combineGates(gates.flatMap((g) => evaluateDeterministicGate(output, g) ?? []));

describe('deterministic gates', () => {
  it('scores 1 with no violations when every gate passes', () => {
    const result = scoreGates('{"title": "Summary"}', ['json', { contains: 'Summary' }, { not_contains: 'TODO' }, { regex: '^\\{' }, length({ max: 100 })]);
    expect(result).toEqual({ score: 1, categories: { json: 1, contains: 1, not_contains: 1, regex: 1, length: 1 }, violations: [] });
  });

  it('fails the json gate on text that does not parse, as a major violation', () => {
    const result = scoreGates('```json\n{}\n```', ['json']);
    expect(result.score).toBe(0);
    expect(result.violations).toEqual([{ rule: 'json', severity: 'major', message: expect.stringMatching(/^output is not valid JSON: /) }]);
  });

  it('accepts any JSON value, including surrounding whitespace', () => {
    expect(scoreGates(' [1, 2] \n', ['json']).score).toBe(1);
    expect(scoreGates('"text"', ['json']).score).toBe(1);
  });

  it('fails contains as major and not_contains as critical', () => {
    const result = scoreGates('draft with TODO', [{ contains: 'Summary' }, { not_contains: 'TODO' }]);
    expect(result.violations).toEqual([
      { rule: 'contains', severity: 'major', message: 'output does not contain "Summary"' },
      { rule: 'not_contains', severity: 'critical', message: 'output contains "TODO"' },
    ]);
    expect(result.score).toBe(0);
  });

  it('matches contains case-sensitively', () => {
    expect(scoreGates('summary', [{ contains: 'Summary' }]).score).toBe(0);
  });

  it('fails a regex that does not match as major', () => {
    expect(scoreGates('no heading', [{ regex: '^# ' }]).violations).toEqual([
      { rule: 'regex', severity: 'major', message: 'output does not match /^# /' },
    ]);
  });

  it('turns an invalid regex into a critical violation instead of throwing', () => {
    const result = scoreGates('anything', [{ regex: '(unclosed' }]);
    expect(result.score).toBe(0);
    expect(result.violations[0]).toMatchObject({ rule: 'regex', severity: 'critical', message: expect.stringContaining('invalid regex') });
  });

  it('refuses a catastrophic pattern quickly instead of running it', () => {
    const started = Date.now();
    const result = scoreGates(`${'a'.repeat(40)}!`, [{ regex: '^(a+)+$' }]);
    expect(Date.now() - started).toBeLessThan(100);
    expect(result.violations[0]).toMatchObject({ severity: 'critical', message: expect.stringContaining('exponential') });
  });

  it(`applies a regex to the first ${MAX_REGEX_INPUT_CHARS} characters only`, () => {
    const long = `${'x'.repeat(MAX_REGEX_INPUT_CHARS)}needle`;
    expect(scoreGates(long, [{ regex: 'needle' }]).score).toBe(0);
    expect(scoreGates(long, [{ contains: 'needle' }]).score).toBe(1);
  });

  it('scores length 1 inside the bounds, inclusive', () => {
    expect(scoreGates('abcd', [length({ min: 4, max: 4 })]).score).toBe(1);
  });

  it('scores length below the minimum by the ratio to it', () => {
    const result = scoreGates('a'.repeat(200), [length({ min: 400 })]);
    expect(result.score).toBe(0.5);
    expect(result.violations).toEqual([{ rule: 'length', severity: 'minor', message: 'output is 200 chars, expected at least 400' }]);
  });

  it('scores length above the maximum by the ratio to it, major when far off', () => {
    const result = scoreGates('a'.repeat(1000), [length({ max: 100 })]);
    expect(result.score).toBe(0.1);
    expect(result.violations[0]?.severity).toBe('major');
  });

  it('counts characters as code points', () => {
    expect(scoreGates('😀😀', [length({ max: 2 })]).score).toBe(1);
  });

  it('estimates tokens as ceil(chars / 4)', () => {
    expect(scoreGates('a'.repeat(9), [length({ max: 3, unit: 'tokens' })]).score).toBe(1);
    const over = scoreGates('a'.repeat(13), [length({ max: 3, unit: 'tokens' })]);
    expect(over.score).toBe(0.75);
    expect(over.violations[0]?.message).toBe('output is 4 tokens, expected at most 3');
  });

  it('scores the empty output 0 against a minimum', () => {
    expect(scoreGates('', [length({ min: 1 })]).score).toBe(0);
  });

  it('averages gate scores overall and per kind', () => {
    const result = scoreGates('alpha beta', [{ contains: 'alpha' }, { contains: 'gamma' }, { not_contains: 'delta' }, 'json']);
    expect(result.score).toBe(0.5);
    expect(result.categories).toEqual({ contains: 0.5, not_contains: 1, json: 0 });
  });

  it('scores 1 when there are no gates', () => {
    expect(scoreGates('x', [])).toEqual({ score: 1, categories: {}, violations: [] });
  });
});

describe('checkAcceptance', () => {
  const accepts = (result: Pick<GateResult, 'score' | 'violations'>, acceptAt: number) => checkAcceptance({ acceptAt, categoryMin: 0 }, { categories: {}, ...result }).accepted;

  it('accepts a score at the threshold', () => {
    const fourOfFive = scoreGates('abc', [{ contains: 'a' }, { contains: 'b' }, { contains: 'c' }, { contains: 'd' }, { contains: 'abc' }]);
    expect(fourOfFive.score).toBeCloseTo(0.8);
    expect(accepts(fourOfFive, 0.8)).toBe(true);
  });

  it('absorbs floating-point noise in the mean', () => {
    expect(accepts({ score: 0.7 - 1e-12, violations: [] }, 0.7)).toBe(true);
  });

  it('rejects a score below the threshold', () => {
    expect(accepts({ score: 0.79, violations: [] }, 0.8)).toBe(false);
  });

  it('rejects any critical violation whatever the score', () => {
    const result = scoreGates('ok but TODO', [{ contains: 'ok' }, { contains: 'but' }, { contains: 'TODO' }, { not_contains: 'TODO' }]);
    expect(result.score).toBe(0.75);
    expect(accepts(result, 0.5)).toBe(false);
  });

  it('accepts with major or minor violations when the score suffices', () => {
    expect(accepts({ score: 0.9, violations: [{ rule: 'length', severity: 'minor', message: '' }] }, 0.8)).toBe(true);
  });
});

describe('combineGates', () => {
  const judge = (score: number, categories: Record<string, number>, weight = 1) => ({ gate: 'judge', score, weight, categories, violations: [] });

  it('weights each gate, keeps per-kind means and the judge categories', () => {
    const json = evaluateDeterministicGate('{}', 'json')!;
    const contains = evaluateDeterministicGate('{}', { contains: 'x' })!;
    const result = combineGates([json, contains, judge(0.5, { accuracy: 0.4, clarity: 0.9 }, 2)]);
    expect(result.score).toBeCloseTo((1 + 0 + 0.5 * 2) / 4);
    expect(result.categories).toEqual({ json: 1, contains: 0, accuracy: 0.4, clarity: 0.9 });
    expect(result.violations).toEqual(contains.violations);
  });

  it('keeps the lowest score of a category two judges share', () => {
    expect(combineGates([judge(1, { accuracy: 0.9 }), judge(1, { accuracy: 0.6 })]).categories).toEqual({ accuracy: 0.6 });
  });

  it('scores 1 with no gates', () => {
    expect(combineGates([])).toEqual({ score: 1, categories: {}, violations: [] });
  });
});

describe('gates the verifier evaluates itself', () => {
  it('leaves schema and judge gates out of the deterministic evaluation', () => {
    const judgeGate: Gate = { judge: { rubric: 'r', categories: [], weight: 1 } };
    expect(isDeterministicGate('schema')).toBe(false);
    expect(isDeterministicGate(judgeGate)).toBe(false);
    expect(evaluateDeterministicGate('x', judgeGate)).toBeUndefined();
    expect(scoreGates('not json', ['schema', judgeGate, { contains: 'json' }])).toEqual({ score: 1, categories: { contains: 1 }, violations: [] });
  });
});
