import * as z from 'zod';
import { parseDecimal } from './decimal.js';
import { type ExactNumber, exactNumberSchema, isExactNumber } from './json.js';

// Classic zod, for the admin and billing bodies that use these fields; json.ts itself stays on the request path's zod/mini.

/**
 * A quantity or amount field of a JSON body: a decimal string, or a JSON number read exactly from its text
 * and handed on as plain decimal text (1e3 is "1000", -0 is "0", 0.10 stays "0.10"), so that `text`, the
 * field's own string schema, applies one set of range and precision rules to both spellings. A JS number
 * (already a binary float) is refused.
 */
export function decimalField<T extends z.ZodType<string, string>>(text: T) {
  return z.union(
    [
      text,
      z
        .pipe(
          exactNumberSchema,
          z.transform((n: ExactNumber) => plainDecimal(n.rawJSON)),
        )
        .pipe(text),
    ],
    {
      error: 'must be a decimal, as a string ("0.10") or a JSON number (0.10)',
    },
  );
}

/**
 * A plain number field of a JSON body (days, minutes): a JSON number whose decimal value a double holds
 * exactly becomes that number; one it does not (14.0000000000000001, 9007199254740993) is refused, never
 * rounded into range.
 */
export function numberField<T extends z.ZodNumber>(number: T) {
  return z.preprocess((v, ctx) => {
    if (!isExactNumber(v)) return v;
    const n = Number(v.rawJSON);
    if (Number.isFinite(n) && parseDecimal(v.rawJSON)?.eq(n)) return n;
    ctx.addIssue({ code: 'custom', message: `${v.rawJSON.slice(0, 40)} is not exactly representable here; send a smaller number` });
    return z.NEVER;
  }, number);
}

/** Exponents beyond any field's range are left as written (for the field to refuse), never expanded into digits. */
const MAX_EXPANDED_EXPONENT = 100;

function plainDecimal(text: string): string {
  if (/^\d+(\.\d+)?$/.test(text)) return text;
  const d = parseDecimal(text);
  if (d === undefined || Math.abs(d.e) > MAX_EXPANDED_EXPONENT) return text;
  return d.isZero() ? '0' : d.toFixed();
}
