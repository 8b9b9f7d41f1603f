import { ProductError, productContent } from './product-content';

const scope = {
  inputs: { idea: 'a kite', people: [{ name: 'Ada', age: 36 }] },
  steps: {
    outline: { output: { title: 'Kites', sections: ['a', 'b'] } },
    draft: { output: 'Kites fly.' },
    table: {
      output: {
        rows: [
          { name: 'plain', note: 'no quoting needed', score: 0.5, ok: true },
          { name: 'Smith, Jane', note: 'she said "hi"', score: -1, ok: false },
          { name: 'multi', note: 'line one\nline two\r\nline three', score: null },
          { name: 'cr', note: 'carriage\rreturn', extra: 'only here' },
        ],
      },
    },
    nested: { output: { rows: [{ name: 'a', tags: ['x'] }] } },
    deep: { output: { rows: [{ name: 'a', address: { city: 'Oslo' } }] } },
    scalars: { output: { rows: ['a', 'b'] } },
    empty: { output: { rows: [] } },
  },
};

const csv = (from: string) => productContent({ path: 'out.csv', from, format: 'csv' }, scope);
function refusal(build: () => unknown): string {
  try {
    build();
  } catch (error) {
    if (error instanceof ProductError) return error.message;
    throw error;
  }
  throw new Error('expected a ProductError');
}

describe('productContent', () => {
  it('writes a text output as it is, structured data as JSON (pretty for json), and renders a template', () => {
    expect(productContent({ path: 'a.txt', from: 'steps.draft.output', format: 'text' }, scope)).toBe('Kites fly.');
    expect(productContent({ path: 'a.json', from: 'steps.outline.output', format: 'json' }, scope)).toBe(JSON.stringify(scope.steps.outline.output, null, 2));
    expect(productContent({ path: 'a.txt', from: 'steps.outline.output.sections', format: 'text' }, scope)).toBe('["a","b"]');
    expect(productContent({ path: 'a.md', from: '# {{ steps.outline.output.title }}\n\n{{ steps.draft.output }}', format: 'markdown' }, scope)).toBe('# Kites\n\nKites fly.');
  });

  it('names the product when its template cannot render', () => {
    expect(refusal(() => productContent({ path: 'a.md', from: '{{ steps.missing.output }}', format: 'markdown' }, scope))).toMatch(/^product "a\.md": undefined variable "steps\.missing"/);
  });

  describe('csv', () => {
    it('writes an RFC 4180 header and one record per object, quoting commas, quotes and line breaks', () => {
      expect(csv('steps.table.output.rows')).toBe(
        [
          'name,note,score,ok,extra',
          'plain,no quoting needed,0.5,true,',
          '"Smith, Jane","she said ""hi""",-1,false,',
          'multi,"line one\nline two\r\nline three",,,',
          'cr,"carriage\rreturn",,,only here',
          '',
        ].join('\r\n'),
      );
    });

    it('quotes a header that needs it', () => {
      const rows = [{ 'last, first': 'Lovelace, Ada', 'the "id"': 1 }];
      expect(productContent({ path: 'h.csv', from: 'inputs.rows', format: 'csv' }, { inputs: { rows }, steps: {} })).toBe(
        '"last, first","the ""id"""\r\n"Lovelace, Ada",1\r\n',
      );
    });

    it('reads inputs as well as step outputs', () => {
      expect(csv('inputs.people')).toBe('name,age\r\nAda,36\r\n');
    });

    it('writes an empty file for no rows', () => {
      expect(csv('steps.empty.output.rows')).toBe('');
    });

    it('refuses a nested array or object, naming the product, the row and the column', () => {
      expect(refusal(() => csv('steps.nested.output.rows'))).toBe(
        'product "out.csv" (csv): row 1 of steps.nested.output.rows, column "tags", is an array; CSV needs an array of objects whose values are text, numbers, booleans or null',
      );
      expect(refusal(() => csv('steps.deep.output.rows'))).toContain('row 1 of steps.deep.output.rows, column "address", is an object');
    });

    it('refuses rows that are not objects, and a value that is not an array', () => {
      expect(refusal(() => csv('steps.scalars.output.rows'))).toContain('row 1 of steps.scalars.output.rows is the text "a", not an object');
      expect(refusal(() => csv('steps.outline.output'))).toContain('steps.outline.output is an object, not an array');
      expect(refusal(() => csv('steps.draft.output'))).toContain('steps.draft.output is the text "Kites fly.", not an array');
    });

    it('refuses a template: CSV is written from data, never assembled by hand', () => {
      expect(refusal(() => csv('name\n{{ steps.draft.output }}'))).toBe('product "out.csv" (csv): "from" must reference an array of objects, such as steps.<id>.output.rows, not a template');
    });

    it('names the product when its reference is unknown', () => {
      expect(refusal(() => csv('steps.missing.output'))).toMatch(/^product "out\.csv": undefined variable "steps\.missing"/);
    });
  });
});
