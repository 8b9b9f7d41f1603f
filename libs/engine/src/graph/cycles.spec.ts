import { findCycles, stronglyConnectedComponents } from './cycles';
import type { DependencyGraph } from './topology';

const graph = (entries: Array<[string, string[]]>): DependencyGraph => new Map(entries);

describe('findCycles', () => {
  it('reports a self-loop as a cycle of one step', () => {
    expect(findCycles(graph([['a', ['a']], ['b', []]])).cycles).toEqual([['a']]);
  });

  it('reports both steps of a two-step cycle', () => {
    expect(findCycles(graph([['a', ['b']], ['b', ['a']]])).cycles).toEqual([['a', 'b']]);
  });

  it('reports every step on a three-step cycle, in dependency order', () => {
    const g = graph([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
    ]);
    expect(findCycles(g).cycles).toEqual([['a', 'b', 'c']]);
  });

  it('starts a cycle at its earliest declared step', () => {
    const g = graph([
      ['x', ['y']],
      ['z', ['x']],
      ['y', ['z']],
    ]);
    expect(findCycles(g).cycles).toEqual([['x', 'y', 'z']]);
  });

  it('reports two disjoint cycles separately', () => {
    const g = graph([
      ['a', ['b']],
      ['b', ['a']],
      ['c', ['d']],
      ['d', ['e']],
      ['e', ['c']],
    ]);
    expect(findCycles(g).cycles).toEqual([
      ['a', 'b'],
      ['c', 'd', 'e'],
    ]);
  });

  it('reports only the cycle when it sits beside an acyclic branch', () => {
    const g = graph([
      ['root', []],
      ['left', ['root']],
      ['loop_a', ['root', 'loop_b']],
      ['loop_b', ['loop_a']],
      ['leaf', ['left', 'loop_b']],
    ]);
    expect(findCycles(g)).toEqual({ cycles: [['loop_a', 'loop_b']], truncated: [] });
  });

  it('reports each elementary cycle of a component made of two overlapping cycles', () => {
    const g = graph([
      ['a', ['b']],
      ['b', ['a', 'c']],
      ['c', ['b']],
    ]);
    expect(findCycles(g).cycles).toEqual([
      ['a', 'b'],
      ['b', 'c'],
    ]);
  });

  it('finds a self-loop inside a larger cycle', () => {
    const g = graph([
      ['a', ['b']],
      ['b', ['b', 'a']],
    ]);
    expect(findCycles(g).cycles).toEqual([['a', 'b'], ['b']]);
  });

  it('reports no cycle for an acyclic graph', () => {
    expect(findCycles(graph([['a', []], ['b', ['a']]]))).toEqual({ cycles: [], truncated: [] });
  });

  it('stops listing in a dense component and marks it truncated', () => {
    const ids = Array.from({ length: 8 }, (_, i) => `s${i}`);
    const dense = graph(ids.map((id): [string, string[]] => [id, ids.filter((other) => other !== id)]));
    const report = findCycles(dense, { maxCyclesPerComponent: 10, maxSteps: 100_000 });
    expect(report.cycles).toHaveLength(10);
    expect(report.truncated).toEqual([ids]);
  });

  it('handles a 20,000-step chain closed into a ring without overflowing the stack', () => {
    const n = 20_000;
    const ring = graph(Array.from({ length: n }, (_, i): [string, string[]] => [`s${i}`, [`s${(i + 1) % n}`]]));
    const { cycles } = findCycles(ring);
    expect(cycles).toHaveLength(1);
    expect(cycles[0]).toHaveLength(n);
  });
});

describe('stronglyConnectedComponents', () => {
  it('groups mutually dependent steps and leaves others alone', () => {
    const g = graph([
      ['a', ['b']],
      ['b', ['a']],
      ['c', ['a']],
    ]);
    expect(stronglyConnectedComponents(g)).toEqual([['a', 'b'], ['c']]);
  });
});
