import { compilePipeline } from './compile-pipeline';
import type { CompiledPipeline } from './compiled-pipeline';
import { applyStrategy } from './strategy';

const catalog = { big: { tier: 3, inputPrice: 10, outputPrice: 30 }, small: { tier: 1, inputPrice: 0.1, outputPrice: 0.4 } };
function compile(spec: unknown): CompiledPipeline {
  const result = compilePipeline({ json: spec }, { defaultModel: 'm', defaultPool: 'default', catalog });
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.pipeline;
}

const base = compile({
  version: 1,
  name: 's',
  selection: 'performance',
  defaults: { selection: 'performance', verify: { iterate: { max: 2 } } },
  experts: { write: ['big', 'small'] },
  steps: {
    a: { prompt: 'a', expert: 'write', selection: 'performance' },
    b: { prompt: 'b', expert: 'write', depends_on: ['a'], verify: { gates: ['json'], iterate: { max: 4, reuse: ['k'] } }, output: { format: 'json', schema: { type: 'object', properties: { k: {}, v: {} } } } },
    c: { prompt: 'c', verify: { gates: ['json'] } },
  },
});

describe('applyStrategy', () => {
  it('sets a selection mode everywhere, so every expert step chooses by it', () => {
    const spec = applyStrategy(base.spec, { kind: 'selection', selection: 'cost' });
    expect(spec.selection).toBe('cost');
    expect(spec.defaults.selection).toBeUndefined();
    expect(spec.steps.a?.selection).toBeUndefined();
    const compiled = compile(spec);
    expect(base.steps.a?.model).toBe('big');
    expect(compiled.steps.a?.model).toBe('small');
    expect(compiled.steps.b?.model).toBe('small');
    expect(compiled.hash).not.toBe(base.hash);
    expect(base.spec.steps.a?.selection).toBe('performance');
  });

  it("sets a policy's fields on every gated step and in the defaults, keeping the rest", () => {
    const compiled = compile(applyStrategy(base.spec, { kind: 'policy', policy: { max: 5, accept_at: 0.9 } }));
    expect(compiled.steps.b?.verify).toMatchObject({ policy: { maxIterations: 5, acceptAt: 0.9 }, reuse: ['k'] });
    expect(compiled.steps.c?.verify?.policy).toMatchObject({ maxIterations: 5, acceptAt: 0.9 });
    expect(compiled.steps.a?.verify).toBeUndefined();
    expect(compiled.spec.defaults.verify?.iterate).toEqual({ max: 5, accept_at: 0.9 });
  });

  it('gives a spec that is stable when parsed again (as a stored spec is)', () => {
    const once = compile(applyStrategy(base.spec, { kind: 'policy', policy: { improvement_threshold: 0.1 } }));
    expect(compile(once.spec).hash).toBe(once.hash);
  });
});
