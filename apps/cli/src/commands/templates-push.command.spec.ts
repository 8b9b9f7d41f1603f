import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findTemplateFiles, parseTemplateFile } from './templates-push.command';

describe('template files', () => {
  it('reads front matter and body, defaulting the name to the file name', () => {
    const parsed = parseTemplateFile(
      'prompts/market-analysis.liquid',
      '---\ncategory: prompt\nvariables: [product]\nparameters: { temperature: 0.2 }\nlabels: [staging]\nmessage: tighter\n---\nAnalyse the market for {{ inputs.product }}.\n\n',
    );
    expect(parsed).toEqual({
      ok: true,
      file: {
        path: 'prompts/market-analysis.liquid',
        labels: ['staging'],
        request: {
          name: 'market-analysis',
          category: 'prompt',
          variables: ['product'],
          parameters: { temperature: 0.2 },
          message: 'tighter',
          body: 'Analyse the market for {{ inputs.product }}.',
        },
      },
    });
  });

  it('takes a file without front matter as a plain prompt', () => {
    const parsed = parseTemplateFile('hello.txt', 'Hello {{ inputs.name }}\n');
    expect(parsed).toMatchObject({ ok: true, file: { request: { name: 'hello', category: 'prompt', body: 'Hello {{ inputs.name }}', parameters: {} }, labels: [] } });
  });

  it('reads a chat template from the front matter', () => {
    const parsed = parseTemplateFile('chat.md', '---\nname: support\ncategory: personality\nmessages:\n  - { role: system, content: "You are {{ inputs.persona }}" }\n  - { role: user, content: "{{ inputs.q }}" }\n---\n');
    expect(parsed).toMatchObject({ ok: true, file: { request: { name: 'support', body: [{ role: 'system' }, { role: 'user' }] } } });
  });

  it('names every problem: unknown fields, bad values, messages beside a body', () => {
    const bad = parseTemplateFile('x.md', '---\nname: Bad Name\ncolour: blue\n---\nbody');
    expect(bad).toMatchObject({ ok: false, issues: [{ path: [], message: expect.stringContaining('colour') }] });
    const invalid = parseTemplateFile('x.md', '---\nname: Bad Name\ncategory: poem\nparameters: { temperature: 9 }\n---\nbody');
    expect(invalid.ok).toBe(false);
    if (!invalid.ok) expect(invalid.issues.map((i) => i.path.join('.')).sort()).toEqual(['category', 'name', 'parameters.temperature']);
    const both = parseTemplateFile('x.md', '---\nmessages: [{ role: user, content: hi }]\n---\nand a body');
    expect(both).toMatchObject({ ok: false, issues: [{ path: ['messages'] }] });
    const yaml = parseTemplateFile('x.md', '---\nname: [unclosed\n---\nbody');
    expect(yaml).toMatchObject({ ok: false, issues: [{ path: ['front matter'] }] });
    expect(parseTemplateFile('empty.md', '---\nname: empty\n---\n   \n')).toMatchObject({ ok: false, issues: [{ path: ['body'] }] });
  });

  it('finds template files recursively, skipping hidden files, READMEs and other extensions', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-templates-'));
    mkdirSync(join(dir, 'judges'));
    mkdirSync(join(dir, '.git'));
    for (const f of ['a.liquid', 'judges/b.md', 'README.md', 'notes.json', '.hidden.md', '.git/c.md']) writeFileSync(join(dir, f), 'x');
    expect(findTemplateFiles(dir).map((p) => p.slice(dir.length + 1))).toEqual(['a.liquid', 'judges/b.md']);
  });
});
