import type { ResolvedTemplate } from '@trellis/contracts';
import { compilePipeline } from '../spec/compile-pipeline';
import type { CompiledPipeline } from '../spec/compiled-pipeline';
import { checkPins, templateNeeds } from './template-needs';

function compile(spec: Record<string, unknown>): CompiledPipeline {
  const result = compilePipeline({ json: { version: 1, name: 'p', ...spec } }, { defaultModel: 'm', defaultPool: 'default', personalities: { file: 'From a file.' } });
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.pipeline;
}

const pin = (ref: string, fields: Partial<ResolvedTemplate> = {}): ResolvedTemplate => ({
  ref,
  name: ref.split('@')[0]!,
  category: 'prompt',
  version: 1,
  label: 'production',
  level: 'global',
  body: 'text',
  variables: [],
  parameters: {},
  experiment: null,
  ...fields,
});

const judge = { judge: { rubric: 'r' } };
const pipeline = compile({
  inputs: { audience: { type: 'string' } },
  steps: {
    a: { prompt: 'a', verify: { gates: [judge] } },
    b: { template: 'greet@production', with: { name: 'x' }, personality: 'template:pirate@2' },
    c: { prompt: 'c', personality: 'file', verify: { gates: ['json', judge], judge: { template: 'strict' } } },
    d: { tool: 'transform', with: { expression: '1' } },
  },
});

describe('templateNeeds', () => {
  it("lists every registry reference of a run by role: template steps', personalities, judge and feedback prompts", () => {
    expect(templateNeeds(pipeline)).toEqual([
      { ref: 'standard', name: 'standard', role: 'personality', steps: ['a'] },
      { ref: 'trellis.judge', name: 'trellis.judge', role: 'judge', steps: ['a'] },
      { ref: 'trellis.feedback', name: 'trellis.feedback', role: 'feedback', steps: ['a', 'c'] },
      { ref: 'greet@production', name: 'greet', selector: 'production', role: 'prompt', steps: ['b'] },
      { ref: 'pirate@2', name: 'pirate', selector: '2', role: 'personality', steps: ['b'] },
      { ref: 'strict', name: 'strict', role: 'judge', steps: ['c'] },
    ]);
  });
});

describe('checkPins', () => {
  const needs = templateNeeds(pipeline);
  const good = [
    pin('standard', { category: 'personality' }),
    pin('trellis.judge', { category: 'judge', variables: ['rubric', 'candidate'] }),
    pin('trellis.feedback', { category: 'orchestration', variables: ['score'] }),
    pin('greet@production', { variables: ['name'] }),
    pin('pirate@2', { category: 'personality', variables: ['audience'] }),
    pin('strict', { category: 'judge', variables: ['rubric', 'candidate'] }),
  ];

  it('accepts pins that fit their roles', () => {
    expect(checkPins(pipeline, needs, good, [])).toEqual([]);
  });

  it('names the field that asked for a template the registry lacks', () => {
    expect(checkPins(pipeline, needs, good.slice(1), ['standard'])).toEqual([{ path: ['personality'], message: 'no personality template "standard" in the registry' }]);
    expect(checkPins(pipeline, needs, good, ['greet@production'])).toEqual([{ path: ['steps', 'b', 'template'], message: 'no template "greet@production" in the registry' }]);
  });

  it('refuses a template of another category, a chat personality, and variables the role does not provide', () => {
    const bad = [
      pin('standard', { category: 'prompt' }),
      pin('trellis.judge', { category: 'judge', variables: ['secret'] }),
      pin('trellis.feedback', { category: 'orchestration', body: [{ role: 'user', content: 'x' }] }),
      pin('greet@production', { variables: ['name', 'extra'] }),
      pin('pirate@2', { category: 'personality', variables: ['nope'] }),
    ];
    expect(checkPins(pipeline, needs, bad, [])).toEqual([
      { path: ['personality'], message: 'personality template "standard" (version 1) is a prompt template; a personality template has the category personality' },
      { path: ['steps', 'a', 'verify', 'gates'], message: expect.stringContaining('judge template "trellis.judge" (version 1) reads inputs.secret; a judge template reads only rubric, categories, task, candidate, iteration') },
      { path: ['steps', 'a', 'verify'], message: 'feedback template "trellis.feedback" (version 1) is a chat template; a feedback is one text' },
      { path: ['steps', 'b', 'with'], message: 'template "greet@production" (version 1) reads inputs.extra, which "with" does not give' },
      { path: ['steps', 'b', 'personality'], message: "personality template \"pirate@2\" (version 1) reads inputs.nope; a personality template reads only the pipeline's inputs" },
    ]);
  });
});
