import { assignVariant } from './assignment';
import { EMPTY_AGGREGATE, variantResults, winner } from './experiment-results';

describe('assignVariant', () => {
  const variants = [
    { name: 'a', version: 1, weight: 3 },
    { name: 'b', version: 2, weight: 1 },
  ];

  it('is sticky: the same subject and experiment always give the same variant', () => {
    for (let i = 0; i < 100; i++) expect(assignVariant('exp-1', `s${i}`, variants)).toBe(assignVariant('exp-1', `s${i}`, variants));
  });

  it('follows the weights within 3 standard deviations', () => {
    const n = 10_000;
    const a = Array.from({ length: n }, (_, i) => assignVariant('exp-1', `subject-${i}`, variants)).filter((v) => v.name === 'a').length;
    expect(Math.abs(a - n * 0.75)).toBeLessThan(3 * Math.sqrt(n * 0.75 * 0.25));
  });

  it('shuffles subjects anew for each experiment', () => {
    const even = [{ name: 'a', version: 1, weight: 1 }, { name: 'b', version: 2, weight: 1 }];
    const same = Array.from({ length: 1_000 }, (_, i) => assignVariant('exp-1', `u${i}`, even).name === assignVariant('exp-2', `u${i}`, even).name).filter(Boolean).length;
    expect(same).toBeGreaterThan(400);
    expect(same).toBeLessThan(600);
  });
});

describe('winner', () => {
  const variants = [
    { name: 'a', version: 1, weight: 1 },
    { name: 'b', version: 2, weight: 1 },
  ];
  const with_ = (a: Partial<typeof EMPTY_AGGREGATE>, b: Partial<typeof EMPTY_AGGREGATE>) =>
    variantResults(variants, new Map([['a', { ...EMPTY_AGGREGATE, ...a }], ['b', { ...EMPTY_AGGREGATE, ...b }]]));

  it('is the variant with significantly higher acceptance', () => {
    expect(winner(with_({ stepsVerified: 100, stepsAccepted: 80 }, { stepsVerified: 100, stepsAccepted: 50 }))).toBe('a');
  });

  it('falls back to a significantly higher mean score when acceptance does not differ', () => {
    const a = { stepsVerified: 50, stepsAccepted: 40, meanScore: 0.7, scoreStdDev: 0.1 };
    expect(winner(with_(a, { ...a, meanScore: 0.8 }))).toBe('b');
  });

  it('is null without enough evidence', () => {
    expect(winner(with_({ stepsVerified: 10, stepsAccepted: 6 }, { stepsVerified: 10, stepsAccepted: 5 }))).toBeNull();
    expect(winner(with_({}, {}))).toBeNull();
  });
});
