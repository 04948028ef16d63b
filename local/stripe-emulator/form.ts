/**
 * Decodes the `application/x-www-form-urlencoded` bodies stripe-node sends: nested keys in brackets
 * (`payload[value]=5`, `items[0][price]=price_1`, `expand[]=lines`) become objects and arrays.
 */
export type FormValue = string | FormValue[] | { [key: string]: FormValue };
export type Form = { [key: string]: FormValue };

export function parseForm(body: string): Form {
  const root: Form = {};
  for (const [rawKey, value] of new URLSearchParams(body)) {
    const path = rawKey.split(/\[|\]\[|\]/).filter((part, i, all) => part !== '' || (i === all.length - 2 && rawKey.endsWith('[]')));
    let node: Record<string, FormValue> | FormValue[] = root;
    path.forEach((part, i) => {
      const last = i === path.length - 1;
      const key = part === '' ? String((node as FormValue[]).length) : part;
      if (last) {
        (node as Record<string, FormValue>)[key] = value;
        return;
      }
      const nextIsIndex = path[i + 1] === '' || /^\d+$/.test(path[i + 1]!);
      const existing = (node as Record<string, FormValue>)[key];
      node = (existing ?? ((node as Record<string, FormValue>)[key] = nextIsIndex ? [] : {})) as Record<string, FormValue> | FormValue[];
    });
  }
  return root;
}

/** A string field of a form, or undefined. */
export function text(form: Form | FormValue | undefined, key: string): string | undefined {
  const value = form && typeof form === 'object' && !Array.isArray(form) ? form[key] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** An object field of a form (metadata, payload, recurring), or an empty object. */
export function record(form: Form | FormValue | undefined, key: string): Record<string, FormValue> {
  const value = form && typeof form === 'object' && !Array.isArray(form) ? form[key] : undefined;
  return value && typeof value === 'object' ? (value as Record<string, FormValue>) : {};
}
