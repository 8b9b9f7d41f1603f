import { nextStrongerModel } from './escalation';

describe('nextStrongerModel', () => {
  const catalog = {
    'gpt-4.1-mini': { tier: 1, inputPrice: 0.4, outputPrice: 1.6 },
    'gpt-4.1': { tier: 2, inputPrice: 2, outputPrice: 8 },
    'claude-sonnet-4': { tier: 2, inputPrice: 3, outputPrice: 15 },
    'o3': { tier: 3, inputPrice: 10, outputPrice: 40 },
  };

  it('takes the candidate before the current one in the expert list (best first)', () => {
    expect(nextStrongerModel('gpt-4.1-mini', ['o3', 'gpt-4.1', 'gpt-4.1-mini'], catalog)).toBe('gpt-4.1');
  });

  it("falls back to the catalog's next tier, the cheapest there, when the list has nothing stronger", () => {
    expect(nextStrongerModel('gpt-4.1-mini', ['gpt-4.1-mini'], catalog)).toBe('gpt-4.1');
    expect(nextStrongerModel('gpt-4.1', [], catalog)).toBe('o3');
  });

  it('knows of nothing stronger than the top tier, or without list and catalog', () => {
    expect(nextStrongerModel('o3', [], catalog)).toBeUndefined();
    expect(nextStrongerModel('some-model')).toBeUndefined();
  });
});
