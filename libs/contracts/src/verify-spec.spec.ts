import { Gate, VerifySpec } from './pipeline-spec';

describe('VerifySpec', () => {
  it('reads the first spec\'s verify.accept_at as iterate.accept_at', () => {
    expect(VerifySpec.parse({ gates: ['json'], accept_at: 0.5 })).toEqual({ gates: ['json'], accept_at: 0.5, iterate: { accept_at: 0.5 } });
    expect(VerifySpec.parse({ gates: ['json'] })).toEqual({ gates: ['json'], accept_at: 0.8, iterate: {} });
  });

  it('keeps only what the author set under iterate, so pipeline defaults can fill the rest', () => {
    expect(VerifySpec.parse({ gates: ['schema'], iterate: { max: 2 }, escalate: true })).toEqual({ gates: ['schema'], accept_at: 0.8, iterate: { max: 2 }, escalate: true });
  });

  it('parses its own output to the same value (stored specs are parsed again)', () => {
    for (const input of [{ gates: ['json'] }, { gates: ['json'], accept_at: 1 }, { gates: ['json'], iterate: { accept_at: 0.9, category_min: 0.5 } }]) {
      const once = VerifySpec.parse(input);
      expect(VerifySpec.parse(once)).toEqual(once);
    }
  });

  it('refuses two different thresholds, and unknown fields', () => {
    const conflict = VerifySpec.safeParse({ gates: ['json'], accept_at: 0.5, iterate: { max: 2 } });
    expect(conflict.error?.issues[0]).toMatchObject({ path: ['accept_at'], message: expect.stringContaining('iterate.accept_at') });
    expect(VerifySpec.safeParse({ gates: ['json'], iterate: { maximum: 2 } }).error?.issues[0]?.path).toEqual(['iterate']);
  });
});

describe('Gate', () => {
  it('takes a judge with a rubric, categories, an optional model and a weight', () => {
    expect(Gate.parse({ judge: { rubric: 'Be precise.', categories: ['accuracy'] } })).toEqual({ judge: { rubric: 'Be precise.', categories: ['accuracy'], weight: 1 } });
    expect(Gate.parse({ judge: { rubric: 'r', model: 'gpt-4.1', weight: 3 } })).toEqual({ judge: { rubric: 'r', categories: [], model: 'gpt-4.1', weight: 3 } });
    expect(Gate.safeParse({ judge: { rubric: 'r', categories: ['Not An Id'] } }).success).toBe(false);
    expect(Gate.parse('schema')).toBe('schema');
  });
});
