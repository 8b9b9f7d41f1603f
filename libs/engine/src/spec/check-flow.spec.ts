import type { Issue } from '@trellis/contracts';
import { compilePipeline } from './compile-pipeline';
import type { CompileOptions } from './compiled-pipeline';

const options: CompileOptions = { defaultModel: 'm', defaultPool: 'p' };
const yaml = (...lines: string[]) => lines.join('\n');
const issuesOf = (source: string, opts: CompileOptions = options): Issue[] => {
  const result = compilePipeline({ yaml: source }, opts);
  if (result.ok) throw new Error('expected issues');
  return result.issues;
};
const messages = (issues: Issue[]) => issues.map((i) => i.message);

describe('compilePipeline: routing', () => {
  it('reports an unknown route target with its line and column', () => {
    const issues = issuesOf(yaml('version: 1', 'name: x', 'steps:', '  a:', '    prompt: a', '    on_failure: ghost'));
    expect(issues).toEqual([expect.objectContaining({ path: ['steps', 'a', 'on_failure'], line: 6, column: 17 })]);
    expect(issues[0]?.message).toContain('unknown step "ghost"');
  });

  it('refuses a routing loop and names every step on it', () => {
    const issues = issuesOf(
      yaml('version: 1', 'name: x', 'steps:', '  a: { prompt: a, on_success: b }', '  b: { prompt: b, depends_on: [a], on_failure: c }', '  c: { prompt: c, on_success: a }'),
    );
    const loop = issues.find((i) => i.message.startsWith('routing loop'));
    expect(loop?.message).toMatch(/a → b → c → a/);
  });

  it('needs a condition for on_false', () => {
    expect(messages(issuesOf(yaml('version: 1', 'name: x', 'steps:', '  a: { prompt: a, on_false: b }', '  b: { prompt: b }')))).toContain('on_false needs a condition');
  });

  it('lets a routed step read the output of the step that routes to it', () => {
    const result = compilePipeline(
      { yaml: yaml('version: 1', 'name: x', 'steps:', '  a: { prompt: a, on_failure: h }', '  h: { prompt: "explain {{ steps.a.output }}" }') },
      options,
    );
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.pipeline.batches).toEqual([['a'], ['h']]);
      expect(result.pipeline.steps.h?.routedFrom).toEqual([{ from: 'a', when: 'failure' }]);
    }
  });
});

describe('compilePipeline: conditions', () => {
  const step = (condition: string) => yaml('version: 1', 'name: x', 'inputs: { n: { type: number } }', 'steps:', '  a: { prompt: a }', `  b: { prompt: b, depends_on: [a], condition: "${condition}" }`);

  it('accepts CEL over inputs and upstream steps', () => {
    expect(compilePipeline({ yaml: step("inputs.n > 2.0 && steps.a.status == 'succeeded' && size(steps.a.output) > 0") }, options).ok).toBe(true);
  });

  it('points at a syntax error inside the expression', () => {
    const [issue] = issuesOf(step('steps.a.score >='));
    expect(issue?.message).toMatch(/condition: does not parse/);
    expect(issue?.line).toBe(6);
  });

  it('refuses functions outside CEL, so no expression reaches host code', () => {
    expect(messages(issuesOf(step("process.exit(1) || require('fs')")))).toEqual(
      expect.arrayContaining([expect.stringContaining('unknown function "exit"'), expect.stringContaining('unknown function "require"'), expect.stringContaining('unknown variable "process"')]),
    );
  });

  it('refuses unknown inputs, unknown or downstream steps and unknown step fields', () => {
    const msgs = messages(
      issuesOf(
        yaml(
          'version: 1',
          'name: x',
          'steps:',
          '  a: { prompt: a }',
          "  b: { prompt: b, condition: \"inputs.nope == 1 && steps.a.output == 'x' && steps.zz.status == 'x' && steps.c.output == ''\" }",
          '  c: { prompt: c, depends_on: [b] }',
        ),
      ),
    );
    expect(msgs).toEqual(
      expect.arrayContaining([
        expect.stringContaining('unknown input "nope"'),
        expect.stringContaining('step "a" is not upstream of "b"'),
        expect.stringContaining('unknown step "zz"'),
        expect.stringContaining('step "c" is not upstream of "b"'),
      ]),
    );
  });
});

describe('compilePipeline: products', () => {
  const product = (path: string) => yaml('version: 1', 'name: x', 'steps:', '  a: { prompt: a }', 'products:', `  - { path: "${path}", from: steps.a.output }`);

  it.each(['/etc/passwd', '../escape.md', 'a/../../b', 'C:/x', 'a\\\\b', 'a//b'])('refuses a product path that leaves the run: %s', (path) => {
    const [issue] = issuesOf(product(path));
    expect(issue?.path).toEqual(['products', 0, 'path']);
    expect(issue?.line).toBe(6);
  });

  it('accepts nested relative paths and infers the format', () => {
    const result = compilePipeline({ yaml: product('data/out.json') }, options);
    expect(result.ok && result.pipeline.products).toEqual([{ path: 'data/out.json', from: 'steps.a.output', format: 'json' }]);
  });

  it('refuses a csv product assembled by a template, or read from a step that answers text', () => {
    const issues = issuesOf(
      yaml(
        'version: 1',
        'name: x',
        'steps:',
        '  a: { prompt: a }',
        '  b: { prompt: b, output: { format: json } }',
        '  c: { tool: transform, with: { expression: "data", data: [] } }',
        'products:',
        '  - { path: hand.csv, from: "name\\n{{ steps.a.output }}" }',
        '  - { path: text.csv, from: steps.a.output }',
        '  - { path: rows.csv, from: steps.b.output.rows }',
        '  - { path: tool.csv, from: steps.c.output }',
        '  - { path: data.txt, format: csv, from: steps.a.output }',
      ),
    );
    expect(issues.map((i) => [i.path, i.line, i.message])).toEqual([
      [['products', 0, 'from'], 8, expect.stringContaining('a csv product: "from" must reference an array of objects')],
      [['products', 1, 'from'], 9, expect.stringContaining('a csv product: step "a" answers text')],
      [['products', 4, 'from'], 12, expect.stringContaining('step "a" answers text')],
    ]);
  });

  it('refuses a product built from an unknown step', () => {
    expect(messages(issuesOf(yaml('version: 1', 'name: x', 'steps:', '  a: { prompt: a }', 'products:', '  - { path: a.md, from: "{{ steps.b.output }}" }')))).toEqual([
      expect.stringContaining('unknown step "b"'),
    ]);
  });
});

describe('compilePipeline: step kinds, personalities, experts', () => {
  it('needs exactly one of prompt, template and tool', () => {
    expect(messages(issuesOf(yaml('version: 1', 'name: x', 'steps:', '  a: { prompt: a, tool: http }')))).toEqual(
      expect.arrayContaining([expect.stringContaining('not prompt and tool')]),
    );
  });

  it('refuses model settings on a tool step', () => {
    expect(messages(issuesOf(yaml('version: 1', 'name: x', 'steps:', '  a: { tool: http, model: gpt-4.1, with: { url: "https://x.invalid" } }')))).toEqual([
      'a tool step calls no model: remove "model"',
    ]);
  });

  it('makes the personality the system message, before the step own system text', () => {
    const result = compilePipeline(
      { yaml: yaml('version: 1', 'name: x', 'personality: { system: "Be terse." }', 'steps:', '  a: { prompt: a, system: "Answer in French." }') },
      options,
    );
    expect(result.ok && result.pipeline.steps.a?.system).toBe('Be terse.\n\nAnswer in French.');
  });

  it('leaves a personality name no file defines to the registry: a reference pinned per run, before the step own system text', () => {
    const result = compilePipeline({ yaml: yaml('version: 1', 'name: x', 'personality: pirate', 'steps:', '  a: { prompt: a, system: "Answer in French." }') }, options);
    expect(result.ok && result.pipeline.steps.a).toMatchObject({ personality: 'pirate', system: 'Answer in French.' });
  });

  it('uses a file personality given to the compiler before the registry, and template:<ref> always from the registry', () => {
    const result = compilePipeline(
      { yaml: yaml('version: 1', 'name: x', 'personality: pirate', 'steps:', '  a: { prompt: a }', '  b: { prompt: b, personality: "template:pirate@staging" }', '  c: { tool: http, with: { url: "https://x.invalid" } }') },
      { ...options, personalities: { pirate: 'Arr.' } },
    );
    expect(result.ok && result.pipeline.steps.a).toMatchObject({ system: 'Arr.' });
    expect(result.ok && result.pipeline.steps.a?.personality).toBeUndefined();
    expect(result.ok && result.pipeline.steps.b).toMatchObject({ personality: 'pirate@staging' });
    expect(result.ok && result.pipeline.steps.c?.personality).toBeUndefined();
  });

  it('refuses a judge template on a step without a judge gate', () => {
    expect(messages(issuesOf(yaml('version: 1', 'name: x', 'steps:', '  a: { prompt: a, verify: { gates: [json], judge: { template: my-judge } } }')))).toEqual([
      'verify.judge names the prompt of judge gates, and the step has none: add a judge gate or remove it',
    ]);
  });

  it('refuses iterate.reuse of a step without a JSON output schema, of a field the schema lacks, or of every field', () => {
    const reuse = (output: string, fields: string) =>
      messages(issuesOf(yaml('version: 1', 'name: x', 'steps:', `  a: { prompt: a, ${output} verify: { gates: [json], iterate: { reuse: ${fields} } } }`)));
    expect(reuse('', '[examples]')).toEqual([expect.stringContaining('reuse keeps fields of a JSON output')]);
    const schema = 'output: { format: json, schema: { type: object, properties: { examples: { type: array }, answer: { type: string } } } },';
    expect(reuse(schema, '[example]')).toEqual([expect.stringContaining('"example" is not a top-level property of the output schema; did you mean "examples"?')]);
    expect(reuse(schema, '[examples, answer]')).toEqual([expect.stringContaining('leave at least one')]);
    expect(compilePipeline({ yaml: yaml('version: 1', 'name: x', 'steps:', `  a: { prompt: a, ${schema} verify: { gates: [json], iterate: { reuse: [examples] } } }`) }, options).ok).toBe(true);
  });

  const catalog: CompileOptions['catalog'] = {
    big: { tier: 3, inputPrice: 10, outputPrice: 30, capabilities: ['structured_outputs', 'tools'] },
    mid: { tier: 2, inputPrice: 1, outputPrice: 4, capabilities: ['structured_outputs'] },
    small: { tier: 1, inputPrice: 0.1, outputPrice: 0.4, capabilities: [] },
  };
  const experts = (selection: string, needs = '[]') =>
    yaml('version: 1', 'name: x', `selection: ${selection}`, 'experts: { write: [big, mid, small] }', 'steps:', `  a: { prompt: a, expert: write, needs: ${needs} }`);

  it.each([
    ['performance', 'big'],
    ['cost', 'small'],
    ['balanced', 'mid'],
  ])('selects by %s', (selection, model) => {
    const result = compilePipeline({ yaml: experts(selection) }, { ...options, catalog });
    expect(result.ok && result.pipeline.steps.a?.model).toBe(model);
    expect(result.ok && result.pipeline.steps.a?.modelReason).toContain(selection);
  });

  it('keeps only candidates with the capabilities a step needs', () => {
    const result = compilePipeline({ yaml: experts('cost', '[tools]') }, { ...options, catalog });
    expect(result.ok && result.pipeline.steps.a?.model).toBe('big');
  });

  it('refuses a step no candidate can serve, saying what each lacks', () => {
    const [issue] = issuesOf(yaml('version: 1', 'name: x', 'experts: { write: [mid, small] }', 'steps:', '  a: { prompt: a, expert: write, needs: [tools] }'), { ...options, catalog });
    expect(issue?.message).toBe('no model of expert "write" has tools: mid lacks tools; small lacks tools');
    expect(issue?.line).toBe(5);
  });
});
