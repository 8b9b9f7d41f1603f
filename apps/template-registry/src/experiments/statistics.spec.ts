import { normalCdf, studentTwoSidedP, twoProportionPValue, welchPValue } from './statistics';

describe('statistics', () => {
  it('computes the normal CDF', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 5);
    expect(normalCdf(-2.575829)).toBeCloseTo(0.005, 5);
  });

  it("computes Student's t two-sided p-values", () => {
    // Reference values from t tables: t = 2.228 at df = 10 is p = 0.05; t = 2.0 at df = 10 is p ≈ 0.0734.
    expect(studentTwoSidedP(2.228139, 10)).toBeCloseTo(0.05, 4);
    expect(studentTwoSidedP(2.0, 10)).toBeCloseTo(0.07339, 4);
    expect(studentTwoSidedP(1.0, 1)).toBeCloseTo(0.5, 6);
    expect(studentTwoSidedP(0, 7)).toBeCloseTo(1, 9);
  });

  it('runs a two-proportion z-test', () => {
    // 60/100 vs 40/100: z = 2.828, p ≈ 0.00468
    expect(twoProportionPValue(60, 100, 40, 100)).toBeCloseTo(0.00468, 4);
    expect(twoProportionPValue(50, 100, 50, 100)).toBeCloseTo(1, 6);
    expect(twoProportionPValue(10, 10, 10, 10)).toBe(1);
    expect(twoProportionPValue(1, 0, 1, 10)).toBeNull();
  });

  it("runs Welch's t-test", () => {
    // Means 0.8 vs 0.6, sd 0.1 each, n 10 each: t = 4.472, df = 18, p ≈ 0.000296
    expect(welchPValue({ n: 10, mean: 0.8, sd: 0.1 }, { n: 10, mean: 0.6, sd: 0.1 })).toBeCloseTo(0.000296, 5);
    expect(welchPValue({ n: 5, mean: 0.5, sd: 0.2 }, { n: 5, mean: 0.5, sd: 0.3 })).toBeCloseTo(1, 9);
    expect(welchPValue({ n: 1, mean: 0.5, sd: 0 }, { n: 5, mean: 0.5, sd: 0.3 })).toBeNull();
  });
});
