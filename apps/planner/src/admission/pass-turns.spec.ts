import { PassTurns } from './pass-turns';

describe('PassTurns', () => {
  /** A run of work that finishes when told, numbered in the order runs began. */
  function controlled() {
    const began: Array<() => void> = [];
    const work = () =>
      new Promise<number>((resolve) => {
        const n = began.length + 1;
        began.push(() => resolve(n));
      });
    return { began, work };
  }
  const tick = () => new Promise((resolve) => setImmediate(resolve));

  it('runs once more after the run in progress for calls made during it, and they share its result', async () => {
    const turns = new PassTurns<number>();
    const { began, work } = controlled();
    const first = turns.run('p', work);
    const second = turns.run('p', work);
    const third = turns.run('p', work);
    await tick();
    expect(began).toHaveLength(1);
    began[0]!();
    await tick();
    // The calls made during the first run asked for one more run, not two.
    expect(began).toHaveLength(2);
    began[1]!();
    expect(await first).toEqual([1, 2]);
    expect(await second).toEqual([1, 2]);
    expect(await third).toEqual([1, 2]);
  });

  it('runs at once for a key with nothing in progress, and keys do not wait for each other', async () => {
    const turns = new PassTurns<number>();
    const { began, work } = controlled();
    const a = turns.run('a', work);
    const b = turns.run('b', work);
    await tick();
    expect(began).toHaveLength(2);
    began[1]!();
    expect(await b).toEqual([2]);
    began[0]!();
    expect(await a).toEqual([1]);
    // Nothing in progress any more: a new call runs anew.
    const again = turns.run('a', work);
    await tick();
    began[2]!();
    expect(await again).toEqual([3]);
  });

  it('fails every call waiting on a run that fails, and the next call runs anew', async () => {
    const turns = new PassTurns<number>();
    let fail = true;
    const work = () => (fail ? Promise.reject(new Error('no connection')) : Promise.resolve(7));
    await expect(turns.run('p', work)).rejects.toThrow('no connection');
    fail = false;
    await expect(turns.run('p', work)).resolves.toEqual([7]);
  });
});
