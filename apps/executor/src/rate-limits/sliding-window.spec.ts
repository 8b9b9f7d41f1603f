import { tryGrant, type Grant } from './sliding-window';

describe('tryGrant', () => {
  const W = 60_000;

  it('grants while the last window stays within the limit', () => {
    const log: Grant[] = [[1_000, 1], [2_000, 1]];
    expect(tryGrant(log, 3_000, W, 3, 1)).toEqual({ granted: true, grants: [[1_000, 1], [2_000, 1], [3_000, 1]] });
  });

  it('refuses at the limit and says when the oldest grant ages out', () => {
    const log: Grant[] = [[1_000, 1], [2_000, 1], [3_000, 1]];
    expect(tryGrant(log, 4_000, W, 3, 1)).toEqual({ granted: false, retryInMs: 1_000 + W - 4_000 + 1 });
  });

  it('forgets grants older than the window', () => {
    const log: Grant[] = [[1_000, 1], [30_000, 1]];
    expect(tryGrant(log, 62_000, W, 2, 1)).toEqual({ granted: true, grants: [[30_000, 1], [62_000, 1]] });
  });

  it('counts amounts for token limits and waits for enough of them to age out', () => {
    const log: Grant[] = [[1_000, 400], [2_000, 500]];
    expect(tryGrant(log, 3_000, W, 1_000, 300)).toEqual({ granted: false, retryInMs: 1_000 + W - 3_000 + 1 });
    expect(tryGrant(log, 3_000, W, 1_000, 100)).toMatchObject({ granted: true });
  });

  it('merges grants close together into one entry timed by the latest', () => {
    expect(tryGrant([[1_000, 1]], 1_050, W, 5, 2)).toEqual({ granted: true, grants: [[1_050, 3]] });
  });

  it('grants an amount above the limit on an empty window rather than never', () => {
    expect(tryGrant([], 0, W, 100, 500)).toMatchObject({ granted: true });
  });
});
