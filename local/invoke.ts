import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Stripe from 'stripe';
import { type FunctionName, functionSpecs } from '../infra/catalog.js';
import { lambdaContext } from './lambda.js';
import type { LocalState } from './state.js';

const root = resolve(import.meta.dirname, '..');

/**
 * Runs one handler once, in this process, on a sample event, against the stack `npm start` is running (its `state`).
 * In a sample, {{now}} is the current time, {{day}} today's UTC date (ids with it repeat as duplicates the same day),
 * {{uuid}} one fresh UUID per invocation, and {{tenantId}}, {{tenantKey}}, {{adminKey}} the demo tenant's values.
 * A Stripe webhook sample is signed now with the local webhook secret, as Stripe signs each delivery.
 */
export async function invokeSample(name: FunctionName, file: string, state: LocalState): Promise<unknown> {
  // The handler modules read their tables, queues and endpoints from the environment when first imported.
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
  return handler(event, lambdaContext(name, spec.timeoutSeconds));
}
