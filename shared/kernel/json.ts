import * as z from 'zod';
import { Dec } from './decimal.js';

/**
 * JSON read exactly. A JSON number is kept as its source text (a `JSON.rawJSON` value, which
 * `JSON.stringify` writes back verbatim), so no quantity ever passes through a binary float; and the
 * parser keeps its own stack instead of recursing, so a hostile depth costs memory, never the call stack.
 */
export interface ExactNumber {
  readonly rawJSON: string;
}

interface RawJson {
  rawJSON(text: string): ExactNumber;
  isRawJSON(value: unknown): value is ExactNumber;
}
const raw = JSON as unknown as RawJson;

export function isExactNumber(value: unknown): value is ExactNumber {
  return raw.isRawJSON(value);
}

export class JsonSyntaxError extends Error {
  override name = 'JsonSyntaxError';
}

/**
 * Parses JSON text; numbers become `number(sourceText)`. Objects are built with own data properties
 * only (a `__proto__` key is a key, as with JSON.parse).
 */
export function parseJson(text: string, number: (source: string) => unknown = (s) => raw.rawJSON(s)): unknown {
  try {
    JSON.parse(text);
  } catch (error) {
    throw new JsonSyntaxError((error as Error).message);
  }
  // The text is valid JSON from here on, which keeps the scanner short.
  type Frame = { container: Record<string, unknown> | unknown[]; key?: string };
  const stack: Frame[] = [];
  let result: unknown;
  let i = 0;
  const put = (value: unknown) => {
    const top = stack[stack.length - 1];
    if (!top) result = value;
    else if (Array.isArray(top.container)) top.container.push(value);
    else {
      Object.defineProperty(top.container, top.key!, { value, writable: true, enumerable: true, configurable: true });
      top.key = undefined;
    }
  };
  const stringAt = (start: number): [string, number] => {
    let end = start + 1;
    while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
    return [JSON.parse(text.slice(start, end + 1)) as string, end + 1];
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === ',' || c === ':') {
      i += 1;
    } else if (c === '{' || c === '[') {
      const container = c === '{' ? {} : [];
      put(container);
      stack.push({ container });
      i += 1;
    } else if (c === '}' || c === ']') {
      stack.pop();
      i += 1;
    } else if (c === '"') {
      const [value, next] = stringAt(i);
      i = next;
      const top = stack[stack.length - 1];
      if (top && !Array.isArray(top.container) && top.key === undefined) {
        top.key = value;
        continue;
      }
      put(value);
    } else if (c === 't' || c === 'f' || c === 'n') {
      const word = c === 't' ? 'true' : c === 'f' ? 'false' : 'null';
      put(c === 't' ? true : c === 'f' ? false : null);
      i += word.length;
    } else {
      let end = i + 1;
      while (end < text.length && /[0-9eE.+-]/.test(text[end]!)) end += 1;
      put(number(text.slice(i, end)));
      i = end;
    }
  }
  return result;
}

/** A JSON number as `parseJson` reads it; OpenAPI describes it as a number. */
export const exactNumberSchema = z.custom<ExactNumber>(isExactNumber, 'expected a number').meta({ type: 'number' });

/**
 * A quantity or amount field of a JSON body: a decimal string, or a JSON number read exactly from its text
 * and handed on as plain decimal text (1e3 is "1000", -0 is "0", 0.10 stays "0.10"), so that `text`, the
 * field's own string schema, applies one set of range and precision rules to both spellings. A JS number
 * (already a binary float) is refused.
 */
export function decimalField<T extends z.ZodType<string, string>>(text: T) {
  return z.union([text, exactNumberSchema.transform((n) => plainDecimal(n.rawJSON)).pipe(text)], {
    error: 'must be a decimal, as a string ("0.10") or a JSON number (0.10)',
  });
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
    if (Number.isFinite(n) && new Dec(v.rawJSON).eq(n)) return n;
    ctx.addIssue({ code: 'custom', message: `${v.rawJSON.slice(0, 40)} is not exactly representable here; send a smaller number` });
    return z.NEVER;
  }, number);
}

/** Exponents beyond any field's range are left as written (for the field to refuse), never expanded into digits. */
const MAX_EXPANDED_EXPONENT = 100;

function plainDecimal(text: string): string {
  if (/^\d+(\.\d+)?$/.test(text)) return text;
  const d = new Dec(text);
  if (Math.abs(d.e) > MAX_EXPANDED_EXPONENT) return text;
  return d.isZero() ? '0' : d.toFixed();
}

/** How deeply `value` nests objects and arrays (a scalar is 0, `{}` is 1), counting no further than `limit + 1`. */
export function depthOf(value: unknown, limit: number): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null || isExactNumber(v)) continue;
    const depth = d + 1;
    if (depth > max) max = depth;
    if (max > limit) return max;
    for (const child of Object.values(v)) stack.push([child, depth]);
  }
  return max;
}

/**
 * One text per JSON value, whatever its key order or number spelling (1.0 and 1e0 are 1): what a
 * payload hash is taken over. Only for values whose depth is already bounded.
 */
export function canonicalJson(value: unknown): string {
  if (isExactNumber(value)) return new Dec(value.rawJSON).toString();
  if (typeof value === 'number') return new Dec(value).toString();
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** False for strings holding an unpaired surrogate, which no UTF-8 store or URL encoder accepts. */
export function isWellFormed(text: string): boolean {
  return !/\p{Cs}/u.test(text);
}
