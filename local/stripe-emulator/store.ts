import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { StripeObject } from './fixtures.js';

/**
 * The emulator's objects: what Stripe keeps for an account. With a `statePath`, read at start when the file exists
 * and written whole by `persist()` before each write call is answered, so what Stripe acknowledged survives a restart.
 */
export class StripeStore {
  readonly customers = new Map<string, StripeObject>();
  readonly meters = new Map<string, StripeObject>();
  readonly products = new Map<string, StripeObject>();
  readonly prices = new Map<string, StripeObject>();
  readonly subscriptions = new Map<string, StripeObject>();
  readonly invoices = new Map<string, StripeObject>();
  readonly invoiceItems = new Map<string, StripeObject>();
  readonly portalSessions = new Map<string, StripeObject>();
  readonly thinEvents = new Map<string, StripeObject>();
  readonly idempotency = new Map<string, { fingerprint: string; status: number; body: StripeObject }>();
  readonly meterEvents: StripeObject[] = [];
  /** The meter events' identifiers, which Stripe keeps unique. */
  readonly identifiers = new Set<string>();
  /** Every v1 event (snapshot), in order. */
  readonly events: StripeObject[] = [];

  constructor(private readonly statePath?: string) {
    if (!statePath || !existsSync(statePath)) return;
    const state = JSON.parse(readFileSync(statePath, 'utf8')) as Record<string, [string, never][]> & {
      meterEvents: StripeObject[];
      events: StripeObject[];
    };
    for (const [name, map] of Object.entries(this.maps())) for (const [id, value] of state[name] ?? []) map.set(id, value);
    this.meterEvents.push(...state.meterEvents);
    for (const e of this.meterEvents) this.identifiers.add(e.identifier);
    this.events.push(...state.events);
  }

  /** Written whole to a new file and renamed over the old one: a crash leaves the last state or the one before, never half of one. */
  persist(): void {
    if (!this.statePath) return;
    const maps = Object.fromEntries(Object.entries(this.maps()).map(([name, map]) => [name, [...map]]));
    writeFileSync(`${this.statePath}.tmp`, JSON.stringify({ ...maps, meterEvents: this.meterEvents, events: this.events }));
    renameSync(`${this.statePath}.tmp`, this.statePath);
  }

  private maps(): Record<string, Map<string, unknown>> {
    const { customers, meters, products, prices, subscriptions, invoices, invoiceItems, portalSessions, thinEvents, idempotency } = this;
    return { customers, meters, products, prices, subscriptions, invoices, invoiceItems, portalSessions, thinEvents, idempotency };
  }
}
