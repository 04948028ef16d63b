import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Stripe from 'stripe';
import { type FunctionName, functionSpecs } from '../infra/catalog.js';
import { lambdaContext } from '../local/lambda.js';
import { readLocalState } from '../local/state.js';

/**
 * `npm run invoke -- <function> <events/file.json>`: runs one handler once, in this process, against the stack
 * `npm start` is running. A sample's file name starts with its function (`usage.current.json` is for `usage`).
 * In a sample, {{now}} is the current time, {{day}} today's UTC date (ids with it repeat as duplicates the same day),
 * {{uuid}} one fresh UUID per invocation, and {{tenantId}}, {{tenantKey}}, {{adminKey}} the demo tenant's values.
 * A Stripe webhook sample is signed now with the local webhook secret, as Stripe signs each delivery.
 */
const root = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const [name, file] = args as [FunctionName | undefined, string | undefined];
if (args.length !== 2 || !name || !(name in functionSpecs) || !file) {
  console.error(`usage: npm run invoke -- <${Object.keys(functionSpecs).join('|')}> <events/sample.json>`);
  process.exit(2);
}
const state = readLocalState();
if (!state) {
  console.error('no local stack: run `npm start` in another terminal first');
  process.exit(1);
}
Object.assign(process.env, state.env);

const now = new Date().toISOString();
const values: Record<string, string> = {
  now,
  day: now.slice(0, 10),
  uuid: randomUUID(),
  tenantId: state.tenantId,
  tenantKey: state.tenantKey,
  adminKey: state.adminKey,
};
const text = readFileSync(resolve(file), 'utf8').replace(/\{\{(\w+)\}\}/g, (all, key: string) => values[key] ?? all);
const event = JSON.parse(text) as { headers?: Record<string, string>; body?: string };
if (event.headers?.['stripe-signature'] !== undefined && event.body !== undefined) {
  event.headers['stripe-signature'] = Stripe.webhooks.generateTestHeaderString({
    payload: event.body,
    secret: state.env.STRIPE_WEBHOOK_SECRET!,
  });
}
const spec = functionSpecs[name];
const { handler } = (await import(resolve(root, spec.entry))) as { handler: (event: unknown, context: unknown) => Promise<unknown> };
console.log(JSON.stringify(await handler(event, lambdaContext(name, spec.timeoutSeconds)), null, 2));
