import { batchesOf, dependentsOf, topologicalOrder, upstreamOf, type DependencyGraph } from './topology';

const graph = (entries: Array<[string, string[]]>): DependencyGraph => new Map(entries);

describe('topologicalOrder', () => {
  it('puts every step after its dependencies', () => {
    const g = graph([
      ['publish', ['draft']],
      ['draft', ['outline', 'market']],
      ['market', ['outline']],
      ['outline', []],
    ]);
    expect(topologicalOrder(g)).toEqual(['outline', 'market', 'draft', 'publish']);
  });

  it('breaks ties by declaration order, not by name', () => {
    const g = graph([
      ['zeta', []],
      ['alpha', []],
      ['mid', []],
    ]);
    expect(topologicalOrder(g)).toEqual(['zeta', 'alpha', 'mid']);
  });

  it('returns the same order on every call for the same graph', () => {
    const g = graph([
      ['c', ['a']],
      ['b', ['a']],
      ['a', []],
      ['d', ['b', 'c']],
    ]);
    const first = topologicalOrder(g);
    for (let i = 0; i < 5; i++) expect(topologicalOrder(g)).toEqual(first);
    expect(first).toEqual(['a', 'c', 'b', 'd']);
  });

  it('takes the earliest-declared ready step when a later branch becomes ready first', () => {
    // `late` is declared first but only becomes ready after `x`; `y` is ready from the start.
    const g = graph([
      ['late', ['x']],
      ['x', []],
      ['y', []],
    ]);
    expect(topologicalOrder(g)).toEqual(['x', 'late', 'y']);
  });

  it('returns undefined when the graph has a cycle', () => {
    expect(topologicalOrder(graph([['a', ['b']], ['b', ['a']], ['c', []]]))).toBeUndefined();
  });
});

describe('batchesOf', () => {
  const batches = (g: DependencyGraph) => batchesOf(g, topologicalOrder(g) ?? []);

  it('gives a diamond three batches with the two sides in parallel', () => {
    const g = graph([
      ['top', []],
      ['left', ['top']],
      ['right', ['top']],
      ['bottom', ['left', 'right']],
    ]);
    expect(batches(g)).toEqual([['top'], ['left', 'right'], ['bottom']]);
  });

  it('gives plan → 8 experts → combine three batches with all experts in the middle one', () => {
    const experts = Array.from({ length: 8 }, (_, i) => `expert_${i + 1}`);
    const g = graph([['plan', []], ...experts.map((e): [string, string[]] => [e, ['plan']]), ['combine', experts]]);
    expect(batches(g)).toEqual([['plan'], experts, ['combine']]);
  });

  it('gives a chain one batch per step', () => {
    const g = graph([
      ['a', []],
      ['b', ['a']],
      ['c', ['b']],
      ['d', ['c']],
    ]);
    expect(batches(g)).toEqual([['a'], ['b'], ['c'], ['d']]);
  });

  it('places a step by its longest dependency chain, not its shortest', () => {
    const g = graph([
      ['a', []],
      ['b', ['a']],
      ['c', ['b']],
      ['d', ['a', 'c']],
    ]);
    expect(batches(g)).toEqual([['a'], ['b'], ['c'], ['d']]);
  });

  it('puts independent roots in the first batch in declaration order', () => {
    const g = graph([
      ['second', []],
      ['first', []],
      ['join', ['first', 'second']],
    ]);
    expect(batches(g)).toEqual([['second', 'first'], ['join']]);
  });
});

describe('dependentsOf and upstreamOf', () => {
  const g = graph([
    ['a', []],
    ['b', ['a']],
    ['c', ['b']],
    ['d', ['a']],
  ]);

  it('lists the dependents of each step in declaration order', () => {
    expect(Object.fromEntries(dependentsOf(g))).toEqual({ a: ['b', 'd'], b: ['c'], c: [], d: [] });
  });

  it('finds transitive upstream steps but not siblings', () => {
    expect([...upstreamOf(g, 'c')].sort()).toEqual(['a', 'b']);
    expect([...upstreamOf(g, 'd')]).toEqual(['a']);
    expect(upstreamOf(g, 'a').size).toBe(0);
  });
});
