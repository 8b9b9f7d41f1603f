import { bodyText, sideBySide } from './side-by-side';

describe('sideBySide', () => {
  it('faces each removed line with the line that replaced it, and keeps unchanged lines on both sides', () => {
    const rows = sideBySide('Hello {{ inputs.name }}\nWrite a brief.\nBe short.\n', 'Hello {{ inputs.name }}\nWrite a market brief.\nCite sources.\nBe short.\n');
    expect(rows.map((r) => [r.kind, r.left && `${r.left.n}:${r.left.text}`, r.right && `${r.right.n}:${r.right.text}`])).toEqual([
      ['same', '1:Hello {{ inputs.name }}', '1:Hello {{ inputs.name }}'],
      ['changed', '2:Write a brief.', '2:Write a market brief.'],
      ['changed', null, '3:Cite sources.'],
      ['same', '3:Be short.', '4:Be short.'],
    ]);
  });

  it('writes a chat template as its messages', () => {
    expect(bodyText([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }])).toBe('[system]\nBe brief.\n\n[user]\nHi');
  });
});
