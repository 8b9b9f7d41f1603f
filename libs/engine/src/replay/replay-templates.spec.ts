import type { ResolvedTemplate } from '@trellis/contracts';
import { compilePipeline } from '../spec/compile-pipeline';
import { pinLookups, replayTemplates } from './replay-templates';
import { specWithModels } from './replay-spec';

const compiled = (() => {
  const result = compilePipeline(
    {
      json: {
        version: 1,
        name: 'p',
        steps: {
          hello: { template: 'greet@production', with: { who: 'Ada' } },
          bye: { template: 'farewell', with: { who: 'Ada' } },
          fetch: { tool: 'transform', with: { value: 'x' } },
        },
      },
    },
    { defaultModel: 'm', defaultPool: 'default' },
  );
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.pipeline;
})();

const pin = (ref: string, name: string, version: number, experiment: ResolvedTemplate['experiment'] = null, category: ResolvedTemplate['category'] = 'prompt'): ResolvedTemplate => ({
  ref,
  name,
  category,
  version,
  label: null,
  level: 'project',
  body: `v${version}`,
  variables: [],
  parameters: {},
  experiment,
});

describe('replayTemplates', () => {
  const standard = pin('standard', 'standard', 1, null, 'personality');

  it("keeps the source's pins (outside any experiment), the orchestration's own included, unless an override names the template", () => {
    const sourcePins = [pin('greet@production', 'greet', 1, { id: 'e', variant: 'x' }), standard, pin('farewell', 'farewell', 3)];
    const result = replayTemplates(compiled, sourcePins, { greet: 'latest' });
    expect(result).toMatchObject({
      ok: true,
      kept: [standard, { ...sourcePins[2], experiment: null }],
      lookups: [{ ref: 'greet@production', name: 'greet', selector: 'latest', steps: ['hello'] }],
    });
  });

  it('looks up a reference the source did not pin: a template step\'s, or a personality the source started without', () => {
    expect(replayTemplates(compiled, [pin('greet@production', 'greet', 1)])).toMatchObject({
      ok: true,
      lookups: [
        { ref: 'standard', name: 'standard', steps: ['hello', 'bye'] },
        { ref: 'farewell', name: 'farewell', steps: ['bye'] },
      ],
    });
  });

  it('looks up an orchestration template an override names again', () => {
    const result = replayTemplates(compiled, [pin('greet@production', 'greet', 1), standard, pin('farewell', 'farewell', 3)], { standard: '2' });
    expect(result).toMatchObject({ ok: true, lookups: [{ ref: 'standard', name: 'standard', selector: '2', steps: ['hello', 'bye'] }] });
  });

  it('refuses an override of a template no step renders', () => {
    expect(replayTemplates(compiled, [], { nope: '2' })).toEqual({ ok: false, issues: [{ path: ['overrides', 'templates', 'nope'], message: 'no step of the pipeline renders template "nope"' }] });
  });

  it("keeps a looked-up version under the spec's reference, and names the references the registry did not answer", () => {
    const lookups = [
      { ref: 'greet@production', name: 'greet', selector: 'latest', steps: ['hello'] },
      { ref: 'farewell', name: 'farewell', steps: ['bye'] },
    ];
    expect(pinLookups(lookups, [pin('greet@latest', 'greet', 4, { id: 'e', variant: 'y' })])).toEqual({ pins: [pin('greet@production', 'greet', 4)], missing: ['farewell'] });
  });
});

describe('specWithModels', () => {
  it('names the model on each overridden step', () => {
    const result = specWithModels(compiled.spec, { hello: 'big' });
    expect(result.ok && result.spec.steps.hello).toMatchObject({ model: 'big', template: 'greet@production' });
    expect(result.ok && result.spec.steps.bye?.model).toBeUndefined();
  });

  it('refuses an unknown step and a tool step', () => {
    expect(specWithModels(compiled.spec, { ghost: 'm', fetch: 'm' })).toEqual({
      ok: false,
      issues: [
        { path: ['overrides', 'models', 'ghost'], message: 'the pipeline has no step "ghost"' },
        { path: ['overrides', 'models', 'fetch'], message: 'step "fetch" runs a tool, not a model' },
      ],
    });
  });
});
