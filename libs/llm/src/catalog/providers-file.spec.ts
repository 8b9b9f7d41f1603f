import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelCatalog } from './model-catalog';
import { parseProvidersFile } from './providers-file';
import { resolveProviders } from '../client/provider-registry';

const yaml = `
version: 1
providers:
  openai:
    base_url: https://api.openai.com/v1
    api_key_env: OPENAI_KEY
    rpm: 500
    tpm: 200000
  local:
    base_url: http://127.0.0.1:11434/v1
models:
  gpt-4.1:
    provider: openai
    price: { input: 2, output: 8 }
    context_window: 1047576
    capabilities: [structured_outputs, tools, vision]
    tier: 5
    rpm: 100
  llama3:
    provider: local
    price: { input: 0, output: 0 }
    context_window: 8192
`;

describe('providers file', () => {
  it('parses providers and the catalog, and prices a call', () => {
    const catalog = new ModelCatalog(parseProvidersFile(yaml));
    expect(catalog.providerOf('gpt-4.1')).toBe('openai');
    expect(catalog.providerOf('unlisted')).toBe('default');
    expect(catalog.supports('gpt-4.1', 'structured_outputs')).toBe(true);
    expect(catalog.supports('llama3', 'structured_outputs')).toBe(false);
    // Listed without it: lacks it. Not listed at all: the catalog says nothing either way.
    expect(catalog.lacks('llama3', 'structured_outputs')).toBe(true);
    expect(catalog.lacks('gpt-4.1', 'structured_outputs')).toBe(false);
    expect(catalog.lacks('unlisted', 'structured_outputs')).toBe(false);
    expect(catalog.cost('gpt-4.1', { inputTokens: 1_000_000, outputTokens: 500_000 })).toBeCloseTo(6);
    expect(catalog.cost('unlisted', { inputTokens: 1, outputTokens: 1 })).toBeUndefined();
    expect(catalog.limits('gpt-4.1')).toEqual({ provider: 'openai', providerLimits: { rpm: 500, tpm: 200000 }, modelLimits: { rpm: 100 } });
  });

  it('names every bad field', () => {
    const bad = `version: 1\nproviders:\n  x:\n    base_url: nope\nmodels:\n  m:\n    provider: y\n    price: { input: -1, output: 1 }\n    context_window: 10\n    capabilities: [telepathy]\n`;
    expect(() => parseProvidersFile(bad, 'p.yaml')).toThrow(/providers\.x\.base_url[\s\S]*models\.m\.price\.input[\s\S]*models\.m\.capabilities\.0/);
    expect(() => parseProvidersFile(`version: 1\nmodels:\n  m: { provider: ghost, price: { input: 1, output: 1 }, context_window: 1 }\n`)).toThrow(/models\.m\.provider: unknown provider "ghost"/);
  });

  it('takes each API key from the variable it names, and says which are unset', () => {
    const file = parseProvidersFile(yaml);
    expect(resolveProviders(file, { OPENAI_KEY: 'sk-1' })).toMatchObject({ openai: { name: 'openai', apiKey: 'sk-1' }, local: { apiKey: 'not-needed' } });
    expect(() => resolveProviders(file, {})).toThrow(/providers\.openai\.api_key_env: OPENAI_KEY is not set/);
  });
});

describe('the example providers files', () => {
  const example = (name: string) => parseProvidersFile(readFileSync(join(__dirname, '../../../../examples', name), 'utf8'));

  it('examples/providers.yaml is a valid providers file', () => {
    expect(new ModelCatalog(example('providers.yaml')).providerOf('gpt-4.1')).toBe('sim');
  });

  it("examples/providers-openai.yaml sends every model, the planner's default one included, to the default provider", () => {
    const catalog = new ModelCatalog(example('providers-openai.yaml'));
    expect(catalog.providerOf('gpt-4.1-mini')).toBe('default');
    expect(catalog.supports('gpt-4.1-mini', 'structured_outputs')).toBe(true);
  });
});
