import { loadSimulatorConfig } from './config';

describe('loadSimulatorConfig', () => {
  it('defaults to 127.0.0.1:4010 without latency', () => {
    expect(loadSimulatorConfig({})).toEqual({
      ok: true,
      options: { port: 4010, host: '127.0.0.1', latencyMs: 0, acceptAnyModel: true },
    });
  });

  it('reads every variable, an empty one counting as unset', () => {
    const config = loadSimulatorConfig({
      SIM_PORT: '0',
      SIM_HOST: '',
      SIM_LATENCY_MS: '25',
      SIM_MODELS: 'a, b',
      SIM_ACCEPT_ANY_MODEL: 'false',
      SIM_API_KEY: 'sk-sim-1234',
    });
    expect(config).toEqual({
      ok: true,
      options: { port: 0, host: '127.0.0.1', latencyMs: 25, models: ['a', 'b'], acceptAnyModel: false, apiKey: 'sk-sim-1234' },
    });
  });

  it('reads the models that refuse response_format', () => {
    expect(loadSimulatorConfig({ SIM_NO_RESPONSE_FORMAT: 'llama3, phi' })).toMatchObject({ ok: true, options: { noResponseFormat: ['llama3', 'phi'] } });
    expect(loadSimulatorConfig({ SIM_NO_RESPONSE_FORMAT: '*' })).toMatchObject({ ok: true, options: { noResponseFormat: ['*'] } });
  });

  it('names every bad variable', () => {
    const config = loadSimulatorConfig({ SIM_PORT: '70000', SIM_LATENCY_MS: 'slow', SIM_ACCEPT_ANY_MODEL: 'yes' });
    expect(config.ok).toBe(false);
    const errors = config.ok ? [] : config.errors;
    expect(errors).toHaveLength(3);
    expect(errors.join('\n')).toMatch(/SIM_PORT[\s\S]*SIM_LATENCY_MS[\s\S]*SIM_ACCEPT_ANY_MODEL/);
  });
});
