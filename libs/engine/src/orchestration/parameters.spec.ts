import { callParams, effectiveParameters } from './parameters';

describe('effectiveParameters', () => {
  const template = { model: 'tmpl-model', temperature: 0.1, top_p: 0.9, max_tokens: 500, presence_penalty: 0.5, frequency_penalty: -0.5, stop: ['END'], seed: 7 };

  it("takes every parameter the step leaves out from the template version, the model too", () => {
    expect(effectiveParameters({ model: 'chosen', modelNamed: false, params: {} }, template)).toEqual({
      model: 'tmpl-model',
      parameters: { temperature: 0.1, top_p: 0.9, max_tokens: 500, presence_penalty: 0.5, frequency_penalty: -0.5, stop: ['END'], seed: 7 },
    });
  });

  it("lets the step's own temperature, max_tokens and named model win", () => {
    const own = effectiveParameters({ model: 'named', modelNamed: true, params: { temperature: 0.7, maxTokens: 50 } }, template);
    expect(own.model).toBe('named');
    expect(own.parameters).toMatchObject({ temperature: 0.7, max_tokens: 50, top_p: 0.9, seed: 7 });
  });

  it('leaves the rest to the provider without a template', () => {
    expect(effectiveParameters({ model: 'm', modelNamed: false, params: { temperature: 0 } }, undefined)).toEqual({ model: 'm', parameters: { temperature: 0 } });
  });

  it('spells them for the work item', () => {
    expect(callParams({ temperature: 0.1, top_p: 0.9, max_tokens: 5, presence_penalty: 1, frequency_penalty: 2, stop: ['x'], seed: 3 })).toEqual({
      temperature: 0.1,
      topP: 0.9,
      maxTokens: 5,
      presencePenalty: 1,
      frequencyPenalty: 2,
      stop: ['x'],
      seed: 3,
    });
    expect(callParams({})).toEqual({});
  });
});
