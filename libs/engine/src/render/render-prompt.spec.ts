import { RenderError } from './render-error';
import { renderPrompt } from './render-prompt';
import { templateVariables } from './template-variables';

const scope = {
  inputs: { idea: 'a kite', count: 3, tags: ['red', 'blue'], options: { depth: 2 }, notes: null },
  steps: { outline: { output: 'Intro; Body' }, data: { output: { sections: ['a', 'b'] } } },
};

function renderError(template: string): RenderError {
  try {
    renderPrompt(template, scope);
  } catch (error) {
    if (error instanceof RenderError) return error;
    throw error;
  }
  throw new Error('expected a RenderError');
}

describe('renderPrompt', () => {
  it('renders inputs and step outputs', () => {
    expect(renderPrompt('Brief for {{ inputs.idea }} ({{ inputs.count }}): {{ steps.outline.output }}', scope)).toBe(
      'Brief for a kite (3): Intro; Body',
    );
  });

  it('renders objects and arrays as JSON', () => {
    expect(renderPrompt('{{ inputs.options }} {{ inputs.tags }} {{ steps.data.output }}', scope)).toBe(
      '{"depth":2} ["red","blue"] {"sections":["a","b"]}',
    );
  });

  it('has a json filter, with an optional indent', () => {
    expect(renderPrompt('{{ inputs.idea | json }}', scope)).toBe('"a kite"');
    expect(renderPrompt('{{ inputs.options | json: 2 }}', scope)).toBe('{\n  "depth": 2\n}');
    expect(renderPrompt('{{ inputs.options | raw }}', scope)).toBe('{"depth":2}');
  });

  it('renders null as empty, and lets if and default handle an absent optional value', () => {
    expect(renderPrompt('[{{ inputs.notes }}]', scope)).toBe('[]');
    expect(renderPrompt('{% if inputs.missing %}yes{% else %}no{% endif %}', scope)).toBe('no');
    expect(renderPrompt('{{ inputs.missing | default: "none" }}', scope)).toBe('none');
  });

  it('supports loops, filters and assignments', () => {
    expect(renderPrompt('{% for t in inputs.tags %}{{ forloop.index }}.{{ t | upcase }} {% endfor %}{% assign n = inputs.tags.size %}{{ n }}', scope)).toBe(
      '1.RED 2.BLUE 2',
    );
  });

  it('throws a RenderError naming a missing input', () => {
    const error = renderError('Hello\n  {{ inputs.idae }}');
    expect(error).toMatchObject({ reason: 'undefined_variable', variable: 'inputs.idae', line: 2, column: 6 });
    expect(error.message).toBe('undefined variable "inputs.idae" at line 2, column 6');
  });

  it('throws a RenderError naming a missing step output', () => {
    expect(renderError('{{ steps.draft.output }}').variable).toBe('steps.draft');
  });

  it('throws on an unknown filter', () => {
    expect(renderError('{{ inputs.idea | shout }}')).toMatchObject({ reason: 'syntax', message: expect.stringContaining('undefined filter: shout') });
  });

  it('throws a syntax RenderError on a malformed template', () => {
    expect(renderError('{{ inputs.idea ')).toMatchObject({ reason: 'syntax', line: 1, column: 1 });
    expect(renderError('{% if inputs.idea %}open')).toMatchObject({ reason: 'syntax' });
  });

  it('never reads a file through include, render or layout', () => {
    for (const template of ["{% include '/etc/passwd' %}", "{% render 'package.json' %}", "{% layout '../../etc/hosts' %}", "{% liquid include 'x' %}"]) {
      expect(renderError(template)).toMatchObject({ reason: 'syntax', message: expect.stringContaining('is not available') });
    }
  });

  it('exposes no constructor, prototype or process', () => {
    for (const template of [
      '{{ inputs.constructor }}',
      '{{ inputs.idea.constructor }}',
      '{{ inputs.__proto__ }}',
      '{{ inputs.tags.constructor.name }}',
      '{{ inputs.hasOwnProperty }}',
      '{{ process.env }}',
      '{{ global }}',
      '{{ steps.outline.toString }}',
    ]) {
      expect(renderError(template).reason).toBe('undefined_variable');
    }
  });

  it('does not change the scope it was given', () => {
    const given = { inputs: { n: 1 }, steps: {} };
    renderPrompt('{% assign inputs = 5 %}{% increment counter %}{% increment inputs %}{{ inputs }}', given);
    expect(given).toEqual({ inputs: { n: 1 }, steps: {} });
  });

  it('stops a render that runs away', () => {
    expect(renderError('{% for i in (1..100000000) %}x{% endfor %}').reason).toBe('render');
  });

  it('renders the same template many times through the cache', () => {
    for (let i = 0; i < 1_000; i++) expect(renderPrompt('n={{ inputs.n }}', { inputs: { n: i }, steps: {} })).toBe(`n=${i}`);
  });
});

describe('templateVariables', () => {
  it('lists each referenced path once, without loop variables or assigned names', () => {
    const template =
      '{{ inputs.idea }} {{ steps.outline.output | append: steps.market.output }} {{ inputs.idea }}' +
      '{% for t in inputs.tags %}{{ t.name }}{% endfor %}{% assign x = steps.draft.output %}{{ x }}';
    expect(templateVariables(template)).toEqual([
      ['inputs', 'idea'],
      ['steps', 'outline', 'output'],
      ['steps', 'market', 'output'],
      ['inputs', 'tags'],
      ['steps', 'draft', 'output'],
    ]);
  });

  it('cuts a path at a computed segment and lists the variable inside it', () => {
    expect(templateVariables('{{ inputs[steps.a.output] }}')).toEqual([['inputs'], ['steps', 'a', 'output']]);
  });

  it('throws a RenderError for a template that does not parse', () => {
    expect(() => templateVariables('{% if x %}')).toThrow(RenderError);
  });
});
