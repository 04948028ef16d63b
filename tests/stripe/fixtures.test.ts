import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES } from '../../local/stripe-emulator/fixtures.js';

/** The emulator's copy of Stripe's example objects must stay Stripe's own (tests/fixtures/stripe/fixtures3.json). */
describe('Stripe emulator fixtures', () => {
  it('are exactly the objects of stripe/openapi fixtures3.json', () => {
    const original = JSON.parse(readFileSync(resolve(import.meta.dirname, '..', 'fixtures', 'stripe', 'fixtures3.json'), 'utf8')).resources;
    const copy = JSON.parse(readFileSync(FIXTURES, 'utf8')).resources as Record<string, unknown>;
    for (const [type, object] of Object.entries(copy)) expect(object, type).toEqual(original[type]);
  });
});
