import { transformTool } from './transform.tool';
import { ToolError } from './tool.errors';

const signal = new AbortController().signal;

describe('transformTool', () => {
  it('reshapes JSON with a CEL expression', () => {
    const out = transformTool.run(
      { expression: '{"names": data.items.map(i, i.name), "count": size(data.items)}', data: { items: [{ name: 'a' }, { name: 'b' }] } },
      { signal },
    );
    expect(out).toEqual({ names: ['a', 'b'], count: 2 });
  });

  it('parses data given as JSON text', () => {
    expect(transformTool.run({ expression: 'data.x + 1.0', data: '{"x": 2}' }, { signal })).toBe(3);
  });

  it('fails with a tool error on a bad expression or a missing field', () => {
    expect(() => transformTool.run({ expression: '1 +', data: {} }, { signal })).toThrow(ToolError);
    expect(() => transformTool.run({ expression: 'data.nope', data: {} }, { signal })).toThrow(/nope/);
  });
});
