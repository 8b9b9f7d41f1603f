import type { Issue } from '@trellis/contracts';
import { compilePipeline } from './compile-pipeline';
import type { CompiledPipeline, CompileResult } from './compiled-pipeline';
import { planView } from './plan-view';

const options = { defaultModel: 'default-model', defaultPool: 'default' };
const lines = (...text: string[]) => `${text.join('\n')}\n`;
const compileYaml = (text: string) => compilePipeline({ yaml: text }, options);

function issuesOf(result: CompileResult): Issue[] {
  if (result.ok) throw new Error('expected compile issues, got a pipeline');
  return result.issues;
}
function pipelineOf(result: CompileResult): CompiledPipeline {
  if (!result.ok) throw new Error(`expected a pipeline, got ${JSON.stringify(result.issues, null, 2)}`);
  return result.pipeline;
}
function issueAt(issues: Issue[], path: Array<string | number>): Issue {
  const found = issues.find((i) => JSON.stringify(i.path) === JSON.stringify(path));
  if (!found) throw new Error(`no issue at ${JSON.stringify(path)} in ${JSON.stringify(issues, null, 2)}`);
  return found;
}

const productBrief = lines(
  'version: 1',
  'name: product-brief',
  'model: gpt-4.1',
  'inputs:',
  '  idea: { type: string, required: true }',
  '  tone: { type: string, default: plain }',
  'steps:',
  '  outline:',
  '    prompt: "Outline a brief for {{ inputs.idea }}"',
  '    system: "Write in a {{ inputs.tone }} tone."',
  '    temperature: 0.2',
  '  market:',
  '    depends_on: [outline]',
  '    prompt: "Analyse the market for {{ steps.outline.output }}"',
  '    pool: research',
  '    model: claude-sonnet-4',
  '  draft:',
  '    depends_on: [outline, market]',
  '    prompt: "Draft from {{ steps.outline.output }} and {{ steps.market.output }}"',
  '    max_tokens: 2000',
  '    verify:',
  '      gates: [json, { contains: "Summary" }]',
  '      accept_at: 0.5',
  '  publish:',
  '    depends_on: [draft]',
  '    prompt: "Publish {{ steps.draft.output }} about {{ steps.outline.output }}"',
);

describe('compilePipeline: a valid pipeline', () => {
  const pipeline = pipelineOf(compileYaml(productBrief));

  it('lays the steps out in topological order, batches and roots', () => {
    expect(pipeline.order).toEqual(['outline', 'market', 'draft', 'publish']);
    expect(pipeline.batches).toEqual([['outline'], ['market'], ['draft'], ['publish']]);
    expect(pipeline.roots).toEqual(['outline']);
  });

  it('links each step to its dependencies and dependents', () => {
    expect(pipeline.steps.outline?.dependents).toEqual(['market', 'draft']);
    expect(pipeline.steps.draft?.dependsOn).toEqual(['outline', 'market']);
    expect(pipeline.steps.publish?.dependents).toEqual([]);
  });

  it('resolves the model from the step, then the spec, then the option', () => {
    expect(pipeline.steps.market?.model).toBe('claude-sonnet-4');
    expect(pipeline.steps.outline?.model).toBe('gpt-4.1');
    const withoutSpecModel = pipelineOf(compileYaml(productBrief.replace('model: gpt-4.1\n', '')));
    expect(withoutSpecModel.steps.outline?.model).toBe('default-model');
  });

  it('resolves the pool from the step, then the option', () => {
    expect(pipeline.steps.market?.pool).toBe('research');
    expect(pipeline.steps.outline?.pool).toBe('default');
  });

  it('carries prompt, system, params and verify in engine terms', () => {
    expect(pipeline.steps.outline).toMatchObject({
      prompt: 'Outline a brief for {{ inputs.idea }}',
      // The pipeline's personality (`standard` by default) is the registry's, pinned per run; the step's own text follows it.
      personality: 'standard',
      system: 'Write in a {{ inputs.tone }} tone.',
      params: { temperature: 0.2 },
      modelNamed: false,
    });
    expect(pipeline.steps.outline?.verify).toBeUndefined();
    expect(pipeline.steps.draft?.params).toEqual({ maxTokens: 2000 });
    expect(pipeline.steps.draft?.verify).toEqual({
      gates: ['json', { contains: 'Summary' }],
      policy: { maxIterations: 3, improvementThreshold: 0.05, acceptAt: 0.5, categoryMin: 0.75, escalate: false },
      feedbackTemplate: 'trellis.feedback',
    });
  });

  it("resolves the verification policy from the step, then the pipeline's defaults.verify, and the escalation model", () => {
    const compiled = pipelineOf(
      compilePipeline(
        {
          json: {
            version: 1,
            name: 'loop',
            experts: { writing: ['gpt-4.1', 'gpt-4.1-mini'] },
            selection: 'cost',
            defaults: { verify: { iterate: { max: 2, category_min: 0.6 }, escalate: true, judge_model: 'sim-judge' } },
            steps: {
              a: { prompt: 'a', expert: 'writing', verify: { gates: ['json'], iterate: { accept_at: 0.9 } } },
              b: { prompt: 'b', model: 'gpt-4.1', verify: { gates: ['json'], escalate: false } },
            },
          },
        },
        { defaultModel: 'm', defaultPool: 'p', catalog: { 'gpt-4.1': { tier: 2, inputPrice: 2, outputPrice: 8 }, 'gpt-4.1-mini': { tier: 1, inputPrice: 0.4, outputPrice: 1.6 } } },
      ),
    );
    expect(compiled.steps.a?.model).toBe('gpt-4.1-mini');
    expect(compiled.steps.a?.verify).toMatchObject({
      policy: { maxIterations: 2, acceptAt: 0.9, categoryMin: 0.6, escalate: true },
      judgeModel: 'sim-judge',
      escalateTo: 'gpt-4.1',
    });
    expect(compiled.steps.b?.verify?.policy.escalate).toBe(false);
    expect(compiled.steps.b?.verify?.escalateTo).toBeUndefined();
  });

  it("names the judge template of steps with a judge gate: the step's, else the pipeline's default, else trellis.judge", () => {
    const judge = { judge: { rubric: 'r' } };
    const compiled = pipelineOf(
      compilePipeline(
        {
          json: {
            version: 1,
            name: 'judged',
            defaults: { verify: { judge: { template: 'team-judge@production' } } },
            steps: {
              a: { prompt: 'a', verify: { gates: [judge], judge: { template: 'strict-judge@2' } } },
              b: { prompt: 'b', verify: { gates: [judge] } },
              c: { prompt: 'c', verify: { gates: ['json'] } },
            },
          },
        },
        { defaultModel: 'm', defaultPool: 'p' },
      ),
    );
    expect(compiled.steps.a?.verify).toMatchObject({ judgeTemplate: 'strict-judge@2', feedbackTemplate: 'trellis.feedback' });
    expect(compiled.steps.b?.verify).toMatchObject({ judgeTemplate: 'team-judge@production' });
    expect(compiled.steps.c?.verify?.judgeTemplate).toBeUndefined();
    const plain = pipelineOf(compilePipeline({ json: { version: 1, name: 'j', steps: { a: { prompt: 'a', model: 'x', verify: { gates: [judge], iterate: { reuse: ['k'] } }, output: { format: 'json', schema: { type: 'object', properties: { k: {}, v: {} } } } } } } }, { defaultModel: 'm', defaultPool: 'p' }));
    expect(plain.steps.a).toMatchObject({ modelNamed: true, verify: { judgeTemplate: 'trellis.judge', reuse: ['k'] } });
  });

  it('keeps the parsed spec with its defaults applied', () => {
    expect(pipeline.spec.inputs.idea).toEqual({ type: 'string', required: true });
    expect(pipeline.spec.steps.outline?.depends_on).toEqual([]);
  });

  it('hashes the spec as a sha256 hex that does not depend on the source format or key order', () => {
    expect(pipeline.hash).toMatch(/^[0-9a-f]{64}$/);
    const fromJson = pipelineOf(compilePipeline({ json: JSON.parse(JSON.stringify(pipeline.spec)) }, options));
    expect(fromJson.hash).toBe(pipeline.hash);
    const reordered = { steps: pipeline.spec.steps, inputs: pipeline.spec.inputs, name: pipeline.spec.name, version: 1, model: 'gpt-4.1' };
    expect(pipelineOf(compilePipeline({ json: reordered }, options)).hash).toBe(pipeline.hash);
  });

  it('changes the hash when the spec changes', () => {
    const changed = pipelineOf(compileYaml(productBrief.replace('temperature: 0.2', 'temperature: 0.3')));
    expect(changed.hash).not.toBe(pipeline.hash);
  });

  it('keeps declaration order in steps, order ties and batches', () => {
    const result = pipelineOf(
      compileYaml(lines('version: 1', 'name: fan', 'steps:', '  zeta: { prompt: z }', '  alpha: { prompt: a }', '  join:', '    depends_on: [alpha, zeta]', '    prompt: j')),
    );
    expect(Object.keys(result.steps)).toEqual(['zeta', 'alpha', 'join']);
    expect(result.order).toEqual(['zeta', 'alpha', 'join']);
    expect(result.batches).toEqual([['zeta', 'alpha'], ['join']]);
  });

  it('compiles plan → 8 experts → combine into 3 batches', () => {
    const experts = Array.from({ length: 8 }, (_, i) => `expert_${i + 1}`);
    const spec = {
      version: 1,
      name: 'fan-out-fan-in',
      inputs: { question: { type: 'string', required: true } },
      steps: {
        plan: { prompt: 'Plan how to answer {{ inputs.question }}' },
        ...Object.fromEntries(experts.map((e) => [e, { depends_on: ['plan'], prompt: `As ${e}, follow {{ steps.plan.output }}` }])),
        combine: { depends_on: experts, prompt: experts.map((e) => `{{ steps.${e}.output }}`).join('\n') },
      },
    };
    const result = pipelineOf(compilePipeline({ json: spec }, options));
    expect(result.batches).toEqual([['plan'], experts, ['combine']]);
    expect(result.steps.plan?.dependents).toEqual(experts);
  });

  it('drops a repeated depends_on entry', () => {
    const result = pipelineOf(compileYaml(lines('version: 1', 'name: x', 'steps:', '  a: { prompt: a }', '  b: { prompt: b, depends_on: [a, a] }')));
    expect(result.steps.b?.dependsOn).toEqual(['a']);
  });

  it('lets a template read a transitive upstream step, loop variables and assigned names', () => {
    const result = compileYaml(
      lines(
        'version: 1',
        'name: x',
        'inputs: { items: { type: array, default: [] } }',
        'steps:',
        '  a: { prompt: a }',
        '  b: { prompt: b, depends_on: [a] }',
        '  c:',
        '    depends_on: [b]',
        '    prompt: |',
        '      {{ steps.a.output }}',
        '      {% for item in inputs.items %}{{ item.name }} {{ forloop.index }}{% endfor %}',
        '      {% assign summary = steps.b.output | upcase %}{{ summary }} {{ inputs }}',
        '      {{ steps.a.output.size }} {{ inputs.items | json }}',
      ),
    );
    expect(result.ok).toBe(true);
  });
});

describe('compilePipeline: YAML positions', () => {
  it('reports a YAML syntax error with its line and column', () => {
    const issues = issuesOf(compileYaml(lines('version: 1', 'name: x', 'steps:', '  a:', '    prompt: "unclosed', '  b: {')));
    expect(issues.length).toBeGreaterThan(0);
    expect(issues[0]).toMatchObject({ path: [], line: expect.any(Number), column: expect.any(Number) });
    expect(issues[0]?.message).toMatch(/^YAML syntax error/);
  });

  it('points a syntax error at the offending token', () => {
    const issues = issuesOf(compileYaml(lines('version: 1', 'name: x', 'steps:', '  a:', '    prompt: x', '    prompt: y')));
    expect(issues).toEqual([{ path: [], message: expect.stringContaining('Map keys must be unique'), line: 6, column: 5 }]);
  });

  it('reports a tab used as indentation', () => {
    const issues = issuesOf(compileYaml('version: 1\nname: x\nsteps:\n\ta: { prompt: x }\n'));
    expect(issues[0]).toMatchObject({ line: 4 });
  });

  it('reports an unknown field on its key, with a suggestion', () => {
    const issues = issuesOf(compileYaml(lines('version: 1', 'name: x', 'steps:', '  a:', '    prompt: x', '    depends-on: []')));
    expect(issues).toEqual([
      { path: ['steps', 'a', 'depends-on'], message: 'unknown field "depends-on"; did you mean "depends_on"?', line: 6, column: 5 },
    ]);
  });

  it('reports an unknown top-level field', () => {
    const issues = issuesOf(compileYaml(lines('version: 1', 'name: x', 'descripton: y', 'steps:', '  a: { prompt: x }')));
    expect(issues).toEqual([
      { path: ['descripton'], message: 'unknown field "descripton"; did you mean "description"?', line: 3, column: 1 },
    ]);
  });

  it('reports an unknown dependency at its list item', () => {
    const issues = issuesOf(
      compileYaml(lines('version: 1', 'name: x', 'steps:', '  outline: { prompt: x }', '  draft:', '    depends_on: [outline, outlin]', '    prompt: y')),
    );
    expect(issues).toEqual([
      { path: ['steps', 'draft', 'depends_on', 1], message: 'unknown step "outlin" in depends_on; did you mean "outline"?', line: 6, column: 27 },
    ]);
  });

  it('reports an unknown dependency in a block list at its line', () => {
    const issues = issuesOf(
      compileYaml(lines('version: 1', 'name: x', 'steps:', '  a: { prompt: x }', '  b:', '    prompt: y', '    depends_on:', '      - a', '      - nowhere')),
    );
    expect(issueAt(issues, ['steps', 'b', 'depends_on', 1])).toMatchObject({ line: 9, column: 9 });
  });

  it('reports a value of the wrong type on the value', () => {
    const issues = issuesOf(compileYaml(lines('version: 1', 'name: x', 'steps:', '  a:', '    prompt: x', '    temperature: hot')));
    expect(issues).toEqual([{ path: ['steps', 'a', 'temperature'], message: 'expected number, got a string', line: 6, column: 18 }]);
  });

  it('reports a value out of range', () => {
    const issues = issuesOf(compileYaml(lines('version: 1', 'name: x', 'steps:', '  a: { prompt: x, temperature: 3 }')));
    expect(issueAt(issues, ['steps', 'a', 'temperature'])).toMatchObject({ line: 4, column: 32, message: expect.stringContaining('2') });
  });

  it('reports a missing field on the key of the object that lacks it', () => {
    const issues = issuesOf(compileYaml(lines('version: 1', 'name: x', 'steps:', '  a:', '    system: s')));
    expect(issues).toEqual([{ path: ['steps', 'a'], message: 'a step needs one of prompt, template or tool', line: 4, column: 3 }]);
  });

  it('reports a missing top-level field at the start of the document', () => {
    const issues = issuesOf(compileYaml(lines('version: 1', 'steps:', '  a: { prompt: x }')));
    expect(issues).toEqual([{ path: ['name'], message: 'missing required field "name"', line: 1, column: 1 }]);
  });

  it('reports a wrong version and a malformed name', () => {
    const issues = issuesOf(compileYaml(lines('version: 2', 'name: Not Valid', 'steps:', '  a: { prompt: x }')));
    expect(issueAt(issues, ['version'])).toMatchObject({ line: 1, column: 10 });
    expect(issueAt(issues, ['name'])).toMatchObject({ line: 2, column: 7, message: expect.stringContaining('lower-case') });
  });

  it('reports an invalid step id on its key', () => {
    const issues = issuesOf(compileYaml(lines('version: 1', 'name: x', 'steps:', '  Draft-1: { prompt: x }')));
    expect(issues).toEqual([{ path: ['steps', 'Draft-1'], message: expect.stringMatching(/^invalid step id "Draft-1": /), line: 4, column: 3 }]);
  });

  it('reports an empty steps map', () => {
    const issues = issuesOf(compileYaml(lines('version: 1', 'name: x', 'steps: {}')));
    expect(issues).toEqual([{ path: ['steps'], message: 'a pipeline needs at least one step', line: 3, column: 8 }]);
  });

  it('reports a document that is not a mapping', () => {
    expect(issuesOf(compileYaml('just text\n'))).toEqual([{ path: [], message: 'expected object, got a string', line: 1, column: 1 }]);
    expect(issuesOf(compileYaml(''))[0]).toMatchObject({ path: [], message: 'expected object, got null' });
  });

  it('explains a gate that matches no form, and a gate with a bad field', () => {
    const issues = issuesOf(
      compileYaml(
        lines(
          'version: 1',
          'name: x',
          'steps:',
          '  a:',
          '    prompt: x',
          '    verify:',
          '      gates:',
          '        - xml',
          '        - { contians: done }',
          '        - { contains: 1 }',
          '        - { regex: a, contains: b }',
          '        - { length: { unit: words } }',
        ),
      ),
    );
    expect(issueAt(issues, ['steps', 'a', 'verify', 'gates', 0])).toMatchObject({ line: 8, column: 11, message: expect.stringContaining('unknown gate "xml"') });
    expect(issueAt(issues, ['steps', 'a', 'verify', 'gates', 1])).toMatchObject({ line: 9, message: expect.stringContaining('did you mean "contains"?') });
    expect(issueAt(issues, ['steps', 'a', 'verify', 'gates', 2, 'contains'])).toMatchObject({ line: 10, column: 23, message: 'expected string, got an integer' });
    expect(issueAt(issues, ['steps', 'a', 'verify', 'gates', 3])).toMatchObject({ line: 11, message: expect.stringContaining('exactly one kind, got regex, contains') });
    expect(issueAt(issues, ['steps', 'a', 'verify', 'gates', 4, 'length', 'unit'])).toMatchObject({ line: 12 });
  });

  it('follows a YAML alias to find a position', () => {
    const issues = issuesOf(
      compileYaml(lines('version: 1', 'name: x', 'shared: &d { prompt: x }', 'steps:', '  a: *d')),
    );
    expect(issueAt(issues, ['shared'])).toMatchObject({ line: 3, column: 1 });
  });
});

describe('compilePipeline: cycles', () => {
  const cyclic = (...steps: string[]) => compileYaml(lines('version: 1', 'name: x', 'steps:', ...steps));

  it('reports a step that depends on itself', () => {
    const issues = issuesOf(cyclic('  a: { prompt: x, depends_on: [a] }'));
    expect(issues).toEqual([
      { path: ['steps', 'a', 'depends_on', 0], message: 'cycle: a → a (a step cannot depend on itself)', line: 4, column: 32 },
    ]);
  });

  it('reports every step on a three-step cycle, in order', () => {
    const issues = issuesOf(
      cyclic('  a: { prompt: x, depends_on: [c] }', '  b: { prompt: x, depends_on: [a] }', '  c: { prompt: x, depends_on: [b] }'),
    );
    expect(issues).toEqual([
      { path: ['steps', 'a', 'depends_on', 0], message: 'cycle: a → c → b → a (each step depends on the next)', line: 4, column: 32 },
    ]);
  });

  it('reports two disjoint cycles as two issues and leaves the acyclic branch alone', () => {
    const issues = issuesOf(
      cyclic(
        '  root: { prompt: x }',
        '  a: { prompt: x, depends_on: [root, b] }',
        '  b: { prompt: x, depends_on: [a] }',
        '  fine: { prompt: x, depends_on: [root] }',
        '  c: { prompt: x, depends_on: [d] }',
        '  d: { prompt: x, depends_on: [c] }',
      ),
    );
    expect(issues.map((i) => i.message)).toEqual([
      'cycle: a → b → a (each step depends on the next)',
      'cycle: c → d → c (each step depends on the next)',
    ]);
    expect(issues[0]).toMatchObject({ path: ['steps', 'a', 'depends_on', 1], line: 5, column: 38 });
  });
});

describe('compilePipeline: templates', () => {
  const withPrompt = (prompt: string, extra: string[] = []) =>
    compileYaml(
      lines('version: 1', 'name: x', 'inputs:', '  idea: { type: string }', 'steps:', '  outline: { prompt: o }', '  side: { prompt: s }', '  draft:', '    depends_on: [outline]', `    prompt: ${prompt}`, ...extra),
    );

  it('reports an undeclared input at its place in the prompt, with a suggestion', () => {
    const issues = issuesOf(withPrompt('"About {{ inputs.ideas }}"'));
    expect(issues).toEqual([
      {
        path: ['steps', 'draft', 'prompt'],
        message: 'prompt template, line 1, column 10: unknown input "ideas" in "inputs.ideas"; declare it under inputs; did you mean "idea"?',
        line: 10,
        column: 23,
      },
    ]);
  });

  it('reports a step that is not upstream and suggests adding it to depends_on', () => {
    const issues = issuesOf(withPrompt('"{{ steps.side.output }}"'));
    expect(issues).toEqual([
      {
        path: ['steps', 'draft', 'prompt'],
        message: 'prompt template, line 1, column 4: step "side" is not upstream of "draft": add "side" to its depends_on',
        line: 10,
        column: 17,
      },
    ]);
  });

  it("checks the leaves of a tool's or template's `with:` like prompts, at their place", () => {
    const issues = issuesOf(
      compileYaml(
        lines('version: 1', 'name: x', 'steps:', '  outline: { prompt: o }', '  side: { prompt: s }', '  draft:', '    depends_on: [outline]', '    tool: transform', '    with:', '      expression: "data"', '      data: { text: "{{ steps.side.output }}" }'),
      ),
    );
    expect(issues).toEqual([
      {
        path: ['steps', 'draft', 'with', 'data', 'text'],
        message: 'with.data.text template, line 1, column 4: step "side" is not upstream of "draft": add "side" to its depends_on',
        line: 11,
        column: 25,
      },
    ]);
  });

  it('reports a step that does not exist', () => {
    const issues = issuesOf(withPrompt('"{{ steps.outlines.output }}"'));
    expect(issues[0]?.message).toContain('unknown step "outlines" in "steps.outlines.output"; did you mean "outline"?');
  });

  it('reports a step reading its own output', () => {
    expect(issuesOf(withPrompt('"{{ steps.draft.output }}"'))[0]?.message).toContain('cannot read its own output');
  });

  it('reports a field of a step other than output', () => {
    expect(issuesOf(withPrompt('"{{ steps.outline.text }}"'))[0]?.message).toContain('a step exposes only "output"');
    expect(issuesOf(withPrompt('"{{ steps.outline }}"'))[0]?.message).toContain('use "steps.outline.output"');
  });

  it('reports an unknown top-level variable', () => {
    const issues = issuesOf(withPrompt('"{{ process.env.HOME }} {{ idea }}"'));
    expect(issues.map((i) => i.message)).toEqual([
      expect.stringContaining('unknown variable "process"'),
      expect.stringContaining('unknown variable "idea"'),
    ]);
  });

  it('reports a step id that is computed instead of named', () => {
    expect(issuesOf(withPrompt('"{{ steps[inputs.idea].output }}"'))[0]?.message).toContain('name the step literally');
  });

  it('reports a Liquid syntax error with its position inside a block prompt', () => {
    const issues = issuesOf(withPrompt('|', ['      First line', '      {% if inputs.idea %}open']));
    expect(issues).toEqual([
      { path: ['steps', 'draft', 'prompt'], message: expect.stringMatching(/^prompt template: .*if.*not closed/), line: 12, column: 7 },
    ]);
  });

  it('reports an unknown filter', () => {
    expect(issuesOf(withPrompt('"{{ inputs.idea | shout }}"'))[0]?.message).toContain('undefined filter: shout');
  });

  it('reports include, render and layout, which would read files', () => {
    for (const tag of ['include', 'render', 'layout']) {
      expect(issuesOf(withPrompt(`"{% ${tag} 'secrets.txt' %}"`))[0]?.message).toContain(`{% ${tag} %} is not available`);
    }
  });

  it('checks the system template too', () => {
    const issues = issuesOf(withPrompt('"ok"', ['    system: "{{ inputs.persona }}"']));
    expect(issues[0]).toMatchObject({ path: ['steps', 'draft', 'system'], message: expect.stringMatching(/^system template/) });
  });
});

describe('compilePipeline: values the schema cannot check', () => {
  it('reports a default that does not have the declared type', () => {
    const issues = issuesOf(
      compileYaml(lines('version: 1', 'name: x', 'inputs:', '  n: { type: integer, default: 2.5 }', 'steps:', '  a: { prompt: "{{ inputs.n }}" }')),
    );
    expect(issues).toEqual([{ path: ['inputs', 'n', 'default'], message: 'default must be an integer, got a number', line: 4, column: 32 }]);
  });

  it('reports an invalid regex gate at compile time', () => {
    const issues = issuesOf(compileYaml(lines('version: 1', 'name: x', 'steps:', '  a:', '    prompt: x', '    verify: { gates: [{ regex: "(unclosed" }] }')));
    expect(issues[0]).toMatchObject({ path: ['steps', 'a', 'verify', 'gates', 0, 'regex'], message: expect.stringContaining('invalid regex'), line: 6 });
  });

  it('reports a regex gate that can backtrack exponentially', () => {
    const issues = issuesOf(compileYaml(lines('version: 1', 'name: x', 'steps:', '  a:', '    prompt: x', '    verify: { gates: [{ regex: "^(a+)+$" }] }')));
    expect(issues[0]?.message).toContain('exponential');
  });

  it('reports __proto__ as a reserved step id', () => {
    const issues = issuesOf(compilePipeline({ json: JSON.parse('{"version":1,"name":"x","steps":{"__proto__":{"prompt":"x"}}}') }, options));
    expect(issues.map((i) => i.message)).toContain('"__proto__" is reserved; choose another step id');
  });
});

describe('compilePipeline: many issues at once', () => {
  it('collects schema, dependency, cycle and template issues in one compile, in document order', () => {
    const issues = issuesOf(
      compileYaml(
        lines(
          'version: 1',
          'name: x',
          'steps:',
          '  a:',
          '    prompt: "{{ inputs.nope }}"',
          '    depends_on: [b, ghost]',
          '    temprature: 1',
          '  b:',
          '    prompt: x',
          '    depends_on: [a]',
          '    max_tokens: many',
        ),
      ),
    );
    expect(issues.map((i) => [i.line, i.message.split(':')[0]])).toEqual([
      [5, 'prompt template, line 1, column 4'],
      [6, 'cycle'],
      [6, 'unknown step "ghost" in depends_on'],
      [7, 'unknown field "temprature"; did you mean "temperature"?'],
      [11, 'expected number, got a string'],
    ]);
  });
});

describe('compilePipeline: JSON source', () => {
  it('reports issues with paths and no positions', () => {
    const issues = issuesOf(compilePipeline({ json: { version: 1, name: 'x', steps: { a: { prompt: 'x', depends_on: ['zz'] } } } }, options));
    expect(issues).toEqual([{ path: ['steps', 'a', 'depends_on', 0], message: 'unknown step "zz" in depends_on' }]);
  });

  it('rejects a value that is not an object', () => {
    expect(issuesOf(compilePipeline({ json: 'version: 1' }, options))).toEqual([{ path: [], message: 'expected object, got a string' }]);
  });
});

describe('planView', () => {
  it('shows order, batches and each step with its dependencies, model and pool', () => {
    const view = planView(pipelineOf(compileYaml(productBrief)));
    expect(view.order).toEqual(['outline', 'market', 'draft', 'publish']);
    expect(view.batches).toEqual([['outline'], ['market'], ['draft'], ['publish']]);
    expect(view.criticalPath).toEqual(['outline', 'market', 'draft', 'publish']);
    expect(view.steps[2]).toEqual({
      id: 'draft',
      kind: 'prompt',
      dependsOn: ['outline', 'market'],
      model: 'gpt-4.1',
      modelReason: "the pipeline's default model",
      pool: 'default',
      routedFrom: [],
    });
    expect(view.estimatedCost).toBeNull();
  });

  it('estimates a cost range from the catalog, counting gated rounds and optional steps', () => {
    const catalog = { 'gpt-4.1': { inputPrice: 2, outputPrice: 8 }, 'claude-sonnet-4': { inputPrice: 3, outputPrice: 15 } };
    const view = planView(pipelineOf(compileYaml(productBrief)), catalog);
    expect(view.estimatedCost).toEqual({ min: expect.any(Number), max: expect.any(Number) });
    expect(view.estimatedCost!.max).toBeGreaterThan(view.estimatedCost!.min);
  });
});
