import { GroupCommit } from './group-commit';

const tick = () => new Promise((r) => setImmediate(r));

describe('GroupCommit', () => {
  it('writes items of one turn together, and those arriving meanwhile in the next batch', async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const group = new GroupCommit<number, string>(
      async (items) => {
        batches.push(items);
        if (batches.length === 1) await gate;
        return items.map((i) => ({ status: 'fulfilled' as const, value: `done ${i}` }));
      },
      { maxBatch: 10, maxInFlight: 1 },
    );
    const first = [1, 2, 3].map((i) => group.submit(i));
    await tick();
    const second = [4, 5].map((i) => group.submit(i));
    await tick();
    expect(batches).toEqual([[1, 2, 3]]);
    release();
    expect(await Promise.all([...first, ...second])).toEqual(['done 1', 'done 2', 'done 3', 'done 4', 'done 5']);
    expect(batches).toEqual([[1, 2, 3], [4, 5]]);
  });

  it('caps a batch and runs up to maxInFlight batches at once', async () => {
    let running = 0;
    let peak = 0;
    const sizes: number[] = [];
    const group = new GroupCommit<number, number>(
      async (items) => {
        sizes.push(items.length);
        peak = Math.max(peak, ++running);
        await tick();
        running--;
        return items.map((value) => ({ status: 'fulfilled' as const, value }));
      },
      { maxBatch: 4, maxInFlight: 2 },
    );
    expect(await Promise.all(Array.from({ length: 10 }, (_, i) => group.submit(i)))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(sizes).toEqual([4, 4, 2]);
    expect(peak).toBe(2);
  });

  it('rejects every item of a batch that failed, only the failed items of one that settled, and goes on', async () => {
    let calls = 0;
    const group = new GroupCommit<number, number>(
      async (items) => {
        if (++calls === 1) throw new Error('db down');
        return items.map((value) => (value === 4 ? { status: 'rejected' as const, reason: new Error('bad item') } : { status: 'fulfilled' as const, value }));
      },
      { maxBatch: 10, maxInFlight: 1 },
    );
    const failed = [group.submit(1), group.submit(2)];
    await expect(failed[0]).rejects.toThrow('db down');
    await expect(failed[1]).rejects.toThrow('db down');
    const next = [group.submit(3), group.submit(4)];
    expect(await next[0]).toBe(3);
    await expect(next[1]).rejects.toThrow('bad item');
  });
});
