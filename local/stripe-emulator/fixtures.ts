import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * Stripe's own example objects (stripe/openapi fixtures3.json, MIT; the resources used are copied into
 * fixtures.json so a clone runs alone, and a test keeps the copy equal to the original): every object the
 * emulator answers with starts as a copy of the fixture of its type, so its shape is Stripe's, and
 * only ids and the fields a call sets are overridden.
 */
export const FIXTURES = resolve(import.meta.dirname, 'fixtures.json');

let resources: Record<string, Record<string, unknown>> | undefined;

export type StripeObject = Record<string, any>;

export function fixture(type: string, overrides: StripeObject): StripeObject {
  resources ??= (JSON.parse(readFileSync(FIXTURES, 'utf8')) as { resources: typeof resources }).resources;
  const base = resources![type];
  if (!base) throw new Error(`no Stripe fixture for ${type}`);
  return { ...structuredClone(base), livemode: false, ...overrides };
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function stripeId(prefix: string): string {
  let id = '';
  for (let i = 0; i < 24; i++) id += ALPHABET[Math.floor(Math.random() * ALPHABET.length)];
  return `${prefix}_${id}`;
}

export function list(data: StripeObject[], url: string): StripeObject {
  return { object: 'list', data, has_more: false, url };
}
