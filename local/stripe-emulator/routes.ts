import type { Billing } from './billing.js';
import type { StripeObject } from './fixtures.js';
import type { Form } from './form.js';
import type { StripeStore } from './store.js';

export type Handler = (req: {
  method: string;
  path: string;
  form: Form;
  query: URLSearchParams;
  idempotencyKey?: string;
}) => [number, StripeObject];

/** A method, the path it answers and its handler; the first route that matches answers. */
export type Route = [string, RegExp, Handler];

/** What a route may use: the account's objects, the clock, the events it emits and the billing it plays. */
export interface Emulation {
  store: StripeStore;
  seconds(): number;
  emit(type: string, object: StripeObject, previous?: StripeObject, idempotencyKey?: string): void;
  billing: Billing;
  /** Where the emulator listens: a portal session's URL names it. */
  port: number;
}
