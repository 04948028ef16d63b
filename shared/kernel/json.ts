import { Dec, parseDecimal } from './decimal.js';
import * as z from './zod-mini.js';

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
export const exactNumberSchema = z.custom<ExactNumber>(isExactNumber, 'expected a number');
z.globalRegistry.add(exactNumberSchema, { type: 'number' });

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
  if (isExactNumber(value)) return parseDecimal(value.rawJSON)?.toString() ?? value.rawJSON;
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
