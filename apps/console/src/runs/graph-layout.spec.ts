import { layoutGraph, MAX_RANK_ROWS, NODE_HEIGHT, NODE_WIDTH } from './graph-layout';

describe('layoutGraph', () => {
  it('places dependencies and routing sources to the left of what they lead to, with routes as edges of their own kind', () => {
    const { positions, edges } = layoutGraph(
      [
        { id: 'outline', dependsOn: [] },
        { id: 'a', dependsOn: ['outline'] },
        { id: 'b', dependsOn: ['outline'] },
        { id: 'join', dependsOn: ['a', 'b'] },
        { id: 'apologize', dependsOn: [] },
      ],
      [{ from: 'join', to: 'apologize', when: 'failure' }],
    );
    const x = (id: string) => positions.get(id)!.x;
    expect(x('a')).toBeGreaterThanOrEqual(x('outline') + NODE_WIDTH);
    expect(x('join')).toBeGreaterThan(x('a'));
    expect(x('apologize')).toBeGreaterThan(x('join'));
    expect(positions.get('a')!.y).toBeLessThan(positions.get('b')!.y);
    expect(edges.map((e) => [e.source, e.target, e.kind])).toEqual([
      ['outline', 'a', 'depends_on'],
      ['outline', 'b', 'depends_on'],
      ['a', 'join', 'depends_on'],
      ['b', 'join', 'depends_on'],
      ['join', 'apologize', 'on_failure'],
    ]);
  });

  it('lays out 500 steps, a wide fan-out with chains, without two steps on one spot', () => {
    const steps = [{ id: 'root', dependsOn: [] as string[] }];
    for (let i = 0; i < 402; i++) steps.push({ id: `fan-${i}`, dependsOn: ['root'] });
    for (let c = 0; c < 24; c++) for (let k = 0; k < 4; k++) steps.push({ id: `chain-${c}-${k}`, dependsOn: [k === 0 ? 'root' : `chain-${c}-${k - 1}`] });
    steps.push({ id: 'join', dependsOn: steps.slice(1).map((s) => s.id) });
    const { positions, width, height } = layoutGraph(steps, []);
    expect(positions.size).toBe(500);
    expect(new Set([...positions.values()].map((p) => `${p.x},${p.y}`)).size).toBe(500);
    // The fan-out is folded into columns of MAX_RANK_ROWS, so the graph stays about as wide as tall.
    const fanColumns = new Set(steps.filter((s) => s.id.startsWith('fan-')).map((s) => positions.get(s.id)!.x));
    expect(fanColumns.size).toBeGreaterThan(10);
    expect(height).toBeLessThan((MAX_RANK_ROWS + 1) * (NODE_HEIGHT + 14));
    expect(width / height).toBeLessThan(10);
    // What follows the fan-out stays to its right.
    expect(positions.get('join')!.x).toBeGreaterThan(Math.max(...fanColumns));
  });
});
