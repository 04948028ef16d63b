import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csvField } from '../../functions/usage-export-api/export-api.js';
import { parseCsv } from '../../scripts/admin/import.js';

/** What a spreadsheet runs as a formula when a cell's text begins with it. */
const FORMULA_START = /^[=+\-@\t\r]/;
/** The field as `events import` reads it back. */
const cell = (text: string) => parseCsv(`${csvField(text)}\n`)[0]!.cells;

describe('a CSV field of the usage export', () => {
  it('reads back as one cell with the text sent, with an apostrophe before what a spreadsheet would run', () => {
    const text = fc.oneof(
      fc.string(),
      fc.string({ unit: fc.constantFrom('=', '+', '-', '@', '\t', '\r', '\n', ',', '"', 'a', '1', '.') }),
      fc.tuple(fc.constantFrom('=', '+', '-', '@', '\t', '\r'), fc.string()).map(([start, rest]) => start + rest),
    );
    fc.assert(
      fc.property(text, (t) => {
        const [read, ...more] = cell(t);
        expect(more).toEqual([]);
        const runnable = FORMULA_START.test(t) && !/^-?\d+(\.\d+)?$/.test(t);
        expect(read).toBe(runnable ? `'${t}` : t);
        // Never a cell a spreadsheet would run: one that begins so is a number.
        if (FORMULA_START.test(read!)) expect(read).toMatch(/^-?\d+(\.\d+)?$/);
      }),
      { numRuns: 500 },
    );
  });

  it('leaves numbers, negative ones included, as they are', () => {
    for (const n of ['0', '-3', '-0.5', '12.125']) expect(csvField(n)).toBe(n);
    expect(csvField('=1+1')).toBe("'=1+1");
    expect(csvField('@SUM(A1:A2)')).toBe("'@SUM(A1:A2)");
    expect(csvField('-2+3')).toBe("'-2+3");
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
  });
});
