import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Stripe from 'stripe';
import { Dec } from '../../shared/kernel/decimal.js';
import { freePort } from '../net.js';
import { fixture, list, type StripeObject, stripeId } from './fixtures.js';
import { type Form, parseForm, record, text } from './form.js';

/**
 * A Stripe-compatible API on localhost for the calls Meterline makes, so tests and `npm start` run the
 * real stripe-node client (pointed here by host/port/protocol) without the internet. It keeps Stripe's
 * contracts that matter for exactly-once reporting: form-encoded requests, `Idempotency-Key` replay,
 * meter event identifier uniqueness, the 35-day / 5-minute timestamp window, Stripe's error JSON and
 * 429s from its rate limits. Faults (429, 500, hangs) can be injected for the next N calls.
 */
export interface StripeEmulatorOptions {
  port?: number;
  /** The secret key callers must present; any `sk_test_` key when absent. */
  apiKey?: string;
  /** Requests per second before answering 429; off when absent. */
  rateLimit?: RateLimit;
  /** Delay before each answer: makes concurrent calls overlap, as they do against the real API. */
  latencyMs?: number;
  now?: () => number;
  /**
   * A JSON file holding the emulator's objects (customers, meters, prices, subscriptions, invoices, meter events,
   * events, idempotency keys): read at start when it exists, rewritten before each write call is answered, so
   * what Stripe acknowledged survives a restart. In memory only when absent.
   */
  statePath?: string;
}

export interface RateLimit {
  /** `POST /v1/billing/meter_events` (Stripe: 1,000/s in live mode). */
  meterEventsPerSecond: number;
  /** Every other call (Stripe: 100/s in live mode). */
  requestsPerSecond: number;
}

export type FaultKind = 429 | 500 | 'hang' | 'hang-after-processing';

export interface Fault {
  kind: FaultKind;
  /** How many of the next matching calls fail. */
  times: number;
  /** Only calls whose path starts with this. */
  path?: string;
}

export interface StripeCall {
  method: string;
  path: string;
  status: number;
}

export interface WebhookDelivery {
  status: number;
  body: string;
}

export interface StripeEmulator {
  url: string;
  host: string;
  port: number;
  protocol: 'http';
  apiKey: string;
  /** Every meter event accepted, in order. */
  meterEvents(): StripeObject[];
  /** Every v1 event (snapshot) the emulator generated, in order. */
  events(): StripeObject[];
  /** Every call answered (including the faults and 429s). */
  calls(): StripeCall[];
  inject(fault: Fault): void;
  setRateLimit(limit: RateLimit | undefined): void;
  /** Deliver every generated v1 event to this endpoint, signed with `secret`, as Stripe does. */
  setWebhook(endpoint: { url: string; secret: string } | undefined): void;
  /** POSTs `payload` to `url` with a Stripe-Signature made from `secret` (at `timestamp`, seconds). */
  sendWebhook(url: string, payload: string, secret: string, timestamp?: number): Promise<WebhookDelivery>;
  /**
   * Closes the subscription's period as Stripe's billing does: a draft invoice with one line per
   * metered price, quantities aggregated from the meter events in the period, and the customer's pending
   * invoice items; emits invoice.created and returns the draft, which takes invoice items until it is
   * finalized (`POST /v1/invoices/<id>/finalize`, or `finalizeInvoice`).
   */
  createInvoice(subscriptionId: string, period: { start: number; end: number }): Promise<StripeObject>;
  /** `createInvoice`, then finalized at once (invoice.created, invoice.finalized); returns the open invoice. */
  finalizeInvoice(subscriptionId: string, period: { start: number; end: number }): Promise<StripeObject>;
  /** Raises a meter error report (a thin v2 event) and returns the notification Stripe would POST. */
  meterErrorReport(meterId: string, error: { code: string; message: string; identifier: string }): StripeObject;
  stop(): Promise<void>;
}

type Handler = (req: {
  method: string;
  path: string;
  form: Form;
  query: URLSearchParams;
  idempotencyKey?: string;
}) => [number, StripeObject];

export class StripeHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: { type: string; message: string; code?: string; param?: string },
  ) {
    super(body.message);
  }
}

const LOCAL_API_KEY = 'sk_test_meterline_local';
export const LOCAL_WEBHOOK_SECRET = 'whsec_meterline_local';

/** True when the environment holds a Stripe key of its own: then the local stack talks to Stripe itself. */
export function usesRealStripe(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.STRIPE_SECRET_KEY !== undefined && env.STRIPE_SECRET_KEY !== LOCAL_API_KEY;
}

const WINDOW_PAST_S = 35 * 86_400;

const wholeOrNull = (decimal: string) => (new Dec(decimal).isInteger() ? Number(decimal) : null);

/**
 * `billing_cycle_anchor_config`: the next occurrence after `after` of that day of the month (the last
 * day of shorter months) and, for yearly prices, of that month, at the given UTC time. Seconds.
 */
function nextAnchor(config: Form, after: number): number {
  const field = (key: string) => Number(text(config, key) ?? 0);
  const from = new Date(after * 1000);
  for (let m = 0; m <= 24; m++) {
    const [year, month] = [from.getUTCFullYear(), from.getUTCMonth() + m];
    const day = Math.min(field('day_of_month'), new Date(Date.UTC(year, month + 1, 0)).getUTCDate());
    const at = Date.UTC(year, month, day, field('hour'), field('minute'), field('second')) / 1000;
    if (at > after && (!text(config, 'month') || new Date(at * 1000).getUTCMonth() + 1 === field('month'))) return at;
  }
  throw new StripeHttpError(400, {
    type: 'invalid_request_error',
    message: 'Invalid billing_cycle_anchor_config.',
    param: 'billing_cycle_anchor_config',
  });
}

/** A metered price's amount for a period's quantity, unrounded: per unit (with transform_quantity) or by tiers. */
export function priceAmount(price: StripeObject, quantity: Dec): Dec {
  if (price.billing_scheme !== 'tiered') {
    const t = price.transform_quantity;
    const units = t ? quantity.div(t.divide_by)[t.round === 'up' ? 'ceil' : 'floor']() : quantity;
    return units.times(price.unit_amount_decimal);
  }
  if (quantity.isZero()) return new Dec(0);
  const tierOf = (t: StripeObject) => ({
    upTo: t.up_to === null ? undefined : new Dec(t.up_to),
    unit: new Dec(t.unit_amount_decimal),
    flat: new Dec(t.flat_amount_decimal),
  });
  const tiers = (price.tiers as StripeObject[]).map(tierOf);
  if (price.tiers_mode === 'volume') {
    const tier = tiers.find((t) => !t.upTo || quantity.lessThanOrEqualTo(t.upTo))!;
    return quantity.times(tier.unit).plus(tier.flat);
  }
  let lower = new Dec(0);
  let amount = new Dec(0);
  for (const tier of tiers) {
    const inTier = Dec.min(quantity, tier.upTo ?? quantity).minus(lower);
    if (inTier.greaterThan(0)) amount = amount.plus(inTier.times(tier.unit)).plus(tier.flat);
    if (!tier.upTo || quantity.lessThanOrEqualTo(tier.upTo)) break;
    lower = tier.upTo;
  }
  return amount;
}

const WINDOW_FUTURE_S = 300;

export async function startStripeEmulator(options: StripeEmulatorOptions = {}): Promise<StripeEmulator> {
  const now = options.now ?? Date.now;
  const seconds = () => Math.floor(now() / 1000);
  const apiKey = options.apiKey ?? LOCAL_API_KEY;

  const customers = new Map<string, StripeObject>();
  const meters = new Map<string, StripeObject>();
  const products = new Map<string, StripeObject>();
  const prices = new Map<string, StripeObject>();
  const subscriptions = new Map<string, StripeObject>();
  const invoices = new Map<string, StripeObject>();
  const invoiceItems = new Map<string, StripeObject>();
  const portalSessions = new Map<string, StripeObject>();
  const meterEvents: StripeObject[] = [];
  const identifiers = new Set<string>();
  const events: StripeObject[] = [];
  const thinEvents = new Map<string, StripeObject>();
  const idempotency = new Map<string, { fingerprint: string; status: number; body: StripeObject }>();
  const calls: StripeCall[] = [];
  const faults: Fault[] = [];
  const inFlight = new Set<string>();
  const hanging = new Set<ServerResponse>();
  let rateLimit = options.rateLimit;
  let webhook: { url: string; secret: string } | undefined;
  /** Webhook deliveries on their way: stopping waits for them, as the receiver is still up. */
  const deliveries = new Set<Promise<void>>();
  const buckets = { meterEvents: { tokens: 0, at: 0 }, other: { tokens: 0, at: 0 } };

  const stored = { customers, meters, products, prices, subscriptions, invoices, invoiceItems, portalSessions, thinEvents, idempotency };
  if (options.statePath && existsSync(options.statePath)) {
    const state = JSON.parse(readFileSync(options.statePath, 'utf8')) as Record<string, [string, never][]> & {
      meterEvents: StripeObject[];
      events: StripeObject[];
    };
    for (const [name, map] of Object.entries(stored)) for (const [id, value] of state[name] ?? []) map.set(id, value);
    meterEvents.push(...state.meterEvents);
    for (const e of meterEvents) identifiers.add(e.identifier);
    events.push(...state.events);
  }
  /** Written whole to a new file and renamed over the old one: a crash leaves the last state or the one before, never half of one. */
  const persist = () => {
    if (!options.statePath) return;
    const state = { ...Object.fromEntries(Object.entries(stored).map(([name, map]) => [name, [...map]])), meterEvents, events };
    writeFileSync(`${options.statePath}.tmp`, JSON.stringify(state));
    renameSync(`${options.statePath}.tmp`, options.statePath);
  };

  const invalid = (message: string, param?: string, code?: string) =>
    new StripeHttpError(400, { type: 'invalid_request_error', message, ...(param ? { param } : {}), ...(code ? { code } : {}) });
  const missing = (type: string, id: string) =>
    new StripeHttpError(404, { type: 'invalid_request_error', code: 'resource_missing', message: `No such ${type}: '${id}'`, param: 'id' });
  const found = <T>(map: Map<string, T>, type: string, id: string): T => {
    const value = map.get(id);
    if (!value) throw missing(type, id);
    return value;
  };

  const emit = (type: string, object: StripeObject, previous?: StripeObject, idempotencyKey?: string) => {
    const event = fixture('event', {
      id: stripeId('evt'),
      api_version: Stripe.API_VERSION,
      created: seconds(),
      data: { object: structuredClone(object), ...(previous ? { previous_attributes: previous } : {}) },
      pending_webhooks: webhook ? 1 : 0,
      request: { id: stripeId('req'), idempotency_key: idempotencyKey ?? null },
      type,
    });
    events.push(event);
    if (webhook) {
      const delivery = send(webhook.url, JSON.stringify(event), webhook.secret)
        .then(() => undefined)
        .catch((error) => console.error('stripe emulator: webhook delivery failed', error))
        .finally(() => deliveries.delete(delivery));
      deliveries.add(delivery);
    }
  };

  const send = async (url: string, payload: string, secret: string, timestamp = seconds()): Promise<WebhookDelivery> => {
    const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': signature },
      body: payload,
    });
    return { status: res.status, body: await res.text() };
  };

  const monthPeriod = (at: number) => {
    const d = new Date(at * 1000);
    return {
      start: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / 1000,
      end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) / 1000,
    };
  };

  const subscriptionItem = (subscriptionId: string, price: StripeObject, period: { start: number; end: number }, quantity?: string) => {
    const item = fixture('subscription', {}).items.data[0] as StripeObject;
    // Metered items have no quantity: usage comes from the meter.
    return {
      ...item,
      id: stripeId('si'),
      created: seconds(),
      metadata: {},
      price,
      quantity: price.recurring?.usage_type === 'metered' ? undefined : Number(quantity ?? 1),
      plan: { ...item.plan, id: price.id, meter: price.recurring?.meter ?? null, usage_type: price.recurring?.usage_type ?? 'licensed' },
      subscription: subscriptionId,
      current_period_start: period.start,
      current_period_end: period.end,
    };
  };

  /** An invoice item as a line of its invoice (Stripe shows the item's metadata on the line). */
  const itemLine = (item: StripeObject) => {
    const template = fixture('invoice', {}).lines.data[0] as StripeObject;
    return {
      ...template,
      id: stripeId('il'),
      invoice: item.invoice,
      amount: item.amount,
      subtotal: item.amount,
      currency: item.currency,
      description: item.description,
      discountable: item.discountable,
      metadata: item.metadata,
      period: item.period,
      quantity: 1,
      quantity_decimal: '1',
      subscription: item.parent?.subscription_details?.subscription ?? null,
      parent: {
        type: 'invoice_item_details',
        invoice_item_details: {
          invoice_item: item.id,
          proration: false,
          proration_details: { credited_items: null },
          subscription: item.parent?.subscription_details?.subscription ?? null,
        },
        subscription_item_details: null,
      },
      pricing: { type: 'price_details', price_details: null, unit_amount_decimal: String(item.amount) },
    };
  };
  /** A draft's totals after its lines changed. A negative total is owed nothing (Stripe credits the difference to the customer's balance). */
  const retotal = (invoice: StripeObject) => {
    const total = (invoice.lines.data as StripeObject[]).reduce((sum, l) => sum + l.amount, 0);
    Object.assign(invoice, {
      subtotal: total,
      subtotal_excluding_tax: total,
      total,
      total_excluding_tax: total,
      amount_due: Math.max(total, 0),
      amount_remaining: Math.max(total, 0),
    });
  };
  /** Moves an invoice item onto a draft invoice as a line. */
  const attach = (item: StripeObject, invoice: StripeObject) => {
    item.invoice = invoice.id;
    invoice.lines.data.push(itemLine(item));
    retotal(invoice);
  };
  const finalize = (invoice: StripeObject, idempotencyKey?: string) => {
    if (invoice.status !== 'draft')
      throw invalid("This invoice is already finalized, you can't re-finalize a non-draft invoice.", undefined, 'invoice_not_editable');
    refreshUsage(invoice);
    // Finalizing gives the invoice its number and the page where the customer pays it.
    Object.assign(invoice, {
      status: 'open',
      number: `MTL-${invoices.size}`,
      hosted_invoice_url: `https://invoice.stripe.com/i/acct_meterline_local/test_${invoice.id}`,
      status_transitions: { ...invoice.status_transitions, finalized_at: seconds() },
    });
    emit('invoice.finalized', invoice, { status: 'draft' }, idempotencyKey);
    return invoice;
  };
  const newestFirst = (objects: Iterable<StripeObject>) => [...objects].reverse().sort((a, b) => b.created - a.created);

  const routes: [string, RegExp, Handler][] = [
    [
      'POST',
      /^\/v1\/customers$/,
      ({ form }) => {
        const customer = fixture('customer', {
          id: stripeId('cus'),
          created: seconds(),
          discount: null,
          name: text(form, 'name') ?? null,
          email: text(form, 'email') ?? null,
          metadata: record(form, 'metadata'),
        });
        customers.set(customer.id, customer);
        return [200, customer];
      },
    ],
    // The customer portal: a session's URL opens a page standing in for Stripe's hosted portal.
    [
      'POST',
      /^\/v1\/billing_portal\/sessions$/,
      ({ form }) => {
        const customer = text(form, 'customer');
        if (!customer) throw invalid('Missing required param: customer.', 'customer');
        found(customers, 'customer', customer);
        const secret = randomBytes(24).toString('base64url');
        const session = fixture('billing_portal.session', {
          id: stripeId('bps'),
          created: seconds(),
          customer,
          configuration: 'bpc_meterline_local',
          flow: null,
          locale: text(form, 'locale') ?? null,
          return_url: text(form, 'return_url') ?? null,
          url: `http://127.0.0.1:${port}/p/session/${secret}`,
        });
        portalSessions.set(secret, session);
        return [200, session];
      },
    ],
    ['GET', /^\/v1\/customers\/([\w]+)$/, ({ path }) => [200, found(customers, 'customer', path.split('/')[3]!)]],
    [
      'GET',
      /^\/v1\/billing\/meters$/,
      ({ query }) => {
        const status = query.get('status');
        return [
          200,
          list(
            [...meters.values()].filter((m) => !status || m.status === status),
            '/v1/billing/meters',
          ),
        ];
      },
    ],
    [
      'POST',
      /^\/v1\/billing\/meters$/,
      ({ form }) => {
        const eventName = text(form, 'event_name');
        const formula = text(record(form, 'default_aggregation'), 'formula');
        if (!eventName) throw invalid('Missing required param: event_name.', 'event_name');
        if (!formula || !['sum', 'count', 'last'].includes(formula))
          throw invalid('Invalid default_aggregation[formula].', 'default_aggregation[formula]');
        if ([...meters.values()].some((m) => m.event_name === eventName && m.status === 'active')) {
          throw invalid(`A meter with event_name ${eventName} already exists.`, 'event_name');
        }
        const mapping = record(form, 'customer_mapping');
        const value = record(form, 'value_settings');
        const meter = fixture('billing.meter', {
          id: stripeId('mtr'),
          created: seconds(),
          updated: seconds(),
          display_name: text(form, 'display_name') ?? eventName,
          event_name: eventName,
          default_aggregation: { formula },
          customer_mapping: { event_payload_key: text(mapping, 'event_payload_key') ?? 'stripe_customer_id', type: 'by_id' },
          value_settings: { event_payload_key: text(value, 'event_payload_key') ?? 'value' },
          event_time_window: text(form, 'event_time_window') ?? null,
        });
        meters.set(meter.id, meter);
        return [200, meter];
      },
    ],
    ['GET', /^\/v1\/billing\/meters\/(\w+)$/, ({ path }) => [200, found(meters, 'billing.meter', path.split('/')[4]!)]],
    [
      'POST',
      /^\/v1\/billing\/meter_events$/,
      ({ form }) => {
        const eventName = text(form, 'event_name');
        const payload = record(form, 'payload') as Record<string, string>;
        if (!eventName) throw invalid('Missing required param: event_name.', 'event_name');
        const identifier = text(form, 'identifier') ?? stripeId('mev');
        if (identifiers.has(identifier)) throw invalid(`An event already exists with identifier ${identifier}.`, 'identifier');
        const timestamp = Number(text(form, 'timestamp') ?? seconds());
        if (timestamp < seconds() - WINDOW_PAST_S)
          throw invalid('Timestamp must be within the past 35 calendar days.', 'timestamp', 'timestamp_too_far_in_past');
        if (timestamp > seconds() + WINDOW_FUTURE_S)
          throw invalid('Timestamp must not be more than 5 minutes in the future.', 'timestamp', 'timestamp_in_future');
        const event = fixture('billing.meter_event', { created: seconds(), event_name: eventName, identifier, payload, timestamp });
        identifiers.add(identifier);
        meterEvents.push(event);
        return [200, event];
      },
    ],
    [
      'POST',
      /^\/v1\/products$/,
      ({ form }) => {
        const id = text(form, 'id') ?? stripeId('prod');
        if (products.has(id)) throw invalid(`Product already exists.`, 'id', 'resource_already_exists');
        const product = fixture('product', {
          id,
          created: seconds(),
          updated: seconds(),
          name: text(form, 'name') ?? 'product',
          description: null,
          default_price: null,
          package_dimensions: null,
          type: 'service',
          metadata: record(form, 'metadata'),
        });
        products.set(product.id, product);
        return [200, product];
      },
    ],
    ['GET', /^\/v1\/products\/([\w-]+)$/, ({ path }) => [200, found(products, 'product', path.split('/')[3]!)]],
    [
      'GET',
      /^\/v1\/prices$/,
      ({ query }) => {
        const filter = parseForm(query.toString());
        const lookupKeys = Array.isArray(filter.lookup_keys) ? filter.lookup_keys : [];
        const active = text(filter, 'active');
        const matching = [...prices.values()].filter(
          (p) => (lookupKeys.length === 0 || lookupKeys.includes(p.lookup_key)) && (active === undefined || String(p.active) === active),
        );
        return [200, list(matching, '/v1/prices')];
      },
    ],
    [
      'POST',
      /^\/v1\/prices$/,
      ({ form }) => {
        const recurring = record(form, 'recurring');
        const product = found(products, 'product', text(form, 'product') ?? '');
        const meter = text(recurring, 'meter');
        if (meter) found(meters, 'billing.meter', meter);
        const lookupKey = text(form, 'lookup_key') ?? null;
        const holder = lookupKey === null ? undefined : [...prices.values()].find((p) => p.lookup_key === lookupKey);
        if (holder && text(form, 'transfer_lookup_key') !== 'true') {
          throw invalid(`A price (\`${holder.id}\`) already uses that lookup key.`, 'lookup_key');
        }
        if (holder) holder.lookup_key = null;
        const tiered = text(form, 'billing_scheme') === 'tiered';
        const tiers = (Array.isArray(form.tiers) ? form.tiers : []).map((t) => {
          const upTo = text(t, 'up_to');
          const unit = text(t, 'unit_amount_decimal') ?? text(t, 'unit_amount') ?? '0';
          const flat = text(t, 'flat_amount_decimal') ?? text(t, 'flat_amount') ?? '0';
          return {
            up_to: upTo === 'inf' || upTo === undefined ? null : Number(upTo),
            unit_amount: wholeOrNull(unit),
            unit_amount_decimal: unit,
            flat_amount: wholeOrNull(flat),
            flat_amount_decimal: flat,
          };
        });
        if (tiered && (tiers.length === 0 || tiers.at(-1)!.up_to !== null))
          throw invalid('Tiers must end with a tier whose up_to is inf.', 'tiers');
        const transform = record(form, 'transform_quantity');
        const unitAmountDecimal = tiered ? null : (text(form, 'unit_amount_decimal') ?? text(form, 'unit_amount') ?? '0');
        const price = fixture('price', {
          id: stripeId('price'),
          created: seconds(),
          currency: text(form, 'currency') ?? 'usd',
          product: product.id,
          lookup_key: lookupKey,
          nickname: text(form, 'nickname') ?? null,
          metadata: record(form, 'metadata'),
          billing_scheme: tiered ? 'tiered' : 'per_unit',
          tiers_mode: tiered ? (text(form, 'tiers_mode') ?? null) : null,
          // Stripe leaves tiers out unless expanded; the emulator always shows them (it keeps no expansion state).
          ...(tiered ? { tiers } : {}),
          recurring: {
            interval: text(recurring, 'interval') ?? 'month',
            interval_count: 1,
            meter: meter ?? null,
            usage_type: text(recurring, 'usage_type') ?? 'licensed',
            trial_period_days: null,
          },
          transform_quantity: text(transform, 'divide_by')
            ? { divide_by: Number(text(transform, 'divide_by')), round: text(transform, 'round') ?? 'down' }
            : null,
          unit_amount: unitAmountDecimal === null ? null : wholeOrNull(unitAmountDecimal),
          unit_amount_decimal: unitAmountDecimal,
        });
        prices.set(price.id, price);
        return [200, price];
      },
    ],
    ['GET', /^\/v1\/prices\/(\w+)$/, ({ path }) => [200, found(prices, 'price', path.split('/')[3]!)]],
    [
      'POST',
      /^\/v1\/subscriptions$/,
      ({ form, idempotencyKey }) => {
        const customer = found(customers, 'customer', text(form, 'customer') ?? '');
        const items = (Array.isArray(form.items) ? form.items : []).map((i) => ({
          price: found(prices, 'price', text(i, 'price') ?? ''),
          quantity: text(i, 'quantity'),
        }));
        if (items.length === 0) throw invalid('Missing required param: items.', 'items');
        const id = stripeId('sub');
        // Stripe takes only a future anchor (or trial end); a backdated start bills from that date.
        const config = form.billing_cycle_anchor_config === undefined ? undefined : record(form, 'billing_cycle_anchor_config');
        const anchor = config ? String(nextAnchor(config, seconds())) : text(form, 'billing_cycle_anchor');
        const trialEnd = text(form, 'trial_end');
        if (anchor && Number(anchor) < seconds()) throw invalid('billing_cycle_anchor cannot be in the past.', 'billing_cycle_anchor');
        if (trialEnd && Number(trialEnd) <= seconds())
          throw invalid('Invalid timestamp: must be an integer Unix timestamp in the future.', 'trial_end');
        const backdate = text(form, 'backdate_start_date');
        const start = Number(backdate ?? seconds());
        // Without an anchor the emulator bills calendar months (what the older tests finalize against).
        const period = {
          start: backdate ? start : monthPeriod(seconds()).start,
          end: Number(trialEnd ?? anchor ?? monthPeriod(seconds()).end),
        };
        const end = period.end;
        const subscription = fixture('subscription', {
          id,
          customer: customer.id,
          created: seconds(),
          start_date: start,
          billing_cycle_anchor: end,
          billing_cycle_anchor_config: config
            ? Object.fromEntries(
                ['day_of_month', 'month', 'hour', 'minute', 'second'].map((k) => [
                  k,
                  text(config, k) === undefined ? null : Number(text(config, k)),
                ]),
              )
            : null,
          status: trialEnd ? 'trialing' : 'active',
          cancel_at: text(form, 'cancel_at_period_end') === 'true' ? end : null,
          cancel_at_period_end: text(form, 'cancel_at_period_end') === 'true',
          canceled_at: null,
          ended_at: null,
          latest_invoice: null,
          trial_end: trialEnd ? Number(trialEnd) : null,
          trial_start: trialEnd ? start : null,
          metadata: record(form, 'metadata'),
          items: list(
            items.map((i) => subscriptionItem(id, i.price, period, i.quantity)),
            `/v1/subscription_items?subscription=${id}`,
          ),
        });
        subscriptions.set(id, subscription);
        emit('customer.subscription.created', subscription, undefined, idempotencyKey);
        return [200, subscription];
      },
    ],
    [
      'POST',
      /^\/v1\/subscriptions\/(\w+)$/,
      ({ path, form, idempotencyKey }) => {
        const subscription = found(subscriptions, 'subscription', path.split('/')[3]!);
        const previous: StripeObject = {};
        const cancelAtPeriodEnd = text(form, 'cancel_at_period_end');
        if (cancelAtPeriodEnd !== undefined) {
          previous.cancel_at_period_end = subscription.cancel_at_period_end;
          subscription.cancel_at_period_end = cancelAtPeriodEnd === 'true';
          subscription.cancel_at = subscription.cancel_at_period_end ? (subscription.items.data[0]?.current_period_end ?? null) : null;
        }
        if (Array.isArray(form.items)) {
          previous.items = structuredClone(subscription.items);
          const period = {
            start: subscription.items.data[0]?.current_period_start ?? seconds(),
            end: subscription.items.data[0]?.current_period_end ?? monthPeriod(seconds()).end,
          };
          for (const change of form.items) {
            const itemId = text(change, 'id');
            if (itemId && text(change, 'deleted') === 'true') {
              found(new Map(subscription.items.data.map((i: StripeObject) => [i.id, i])), 'subscription_item', itemId);
              subscription.items.data = subscription.items.data.filter((i: StripeObject) => i.id !== itemId);
            } else if (!itemId)
              subscription.items.data.push(
                subscriptionItem(subscription.id, found(prices, 'price', text(change, 'price') ?? ''), period, text(change, 'quantity')),
              );
          }
        }
        if (form.metadata) {
          previous.metadata = subscription.metadata;
          subscription.metadata = { ...subscription.metadata, ...record(form, 'metadata') };
        }
        emit('customer.subscription.updated', subscription, previous, idempotencyKey);
        return [200, subscription];
      },
    ],
    [
      'DELETE',
      /^\/v1\/subscriptions\/(\w+)$/,
      ({ path, idempotencyKey }) => {
        const subscription = found(subscriptions, 'subscription', path.split('/')[3]!);
        Object.assign(subscription, { status: 'canceled', canceled_at: seconds(), ended_at: seconds() });
        emit('customer.subscription.deleted', subscription, undefined, idempotencyKey);
        return [200, subscription];
      },
    ],
    ['GET', /^\/v1\/subscriptions\/(\w+)$/, ({ path }) => [200, found(subscriptions, 'subscription', path.split('/')[3]!)]],
    ['GET', /^\/v1\/invoices\/(\w+)$/, ({ path }) => [200, found(invoices, 'invoice', path.split('/')[3]!)]],
    [
      'GET',
      /^\/v1\/invoices$/,
      ({ query }) => {
        const [customer, subscription, status] = ['customer', 'subscription', 'status'].map((k) => query.get(k));
        const matching = newestFirst(invoices.values()).filter(
          (i) =>
            (!customer || i.customer === customer) &&
            (!subscription || i.subscription === subscription) &&
            (!status || i.status === status),
        );
        return [200, list(matching, '/v1/invoices')];
      },
    ],
    [
      'GET',
      /^\/v1\/invoices\/(\w+)\/lines$/,
      ({ path }) => {
        const invoice = found(invoices, 'invoice', path.split('/')[3]!);
        return [200, list(invoice.lines.data, `/v1/invoices/${invoice.id}/lines`)];
      },
    ],
    [
      'POST',
      /^\/v1\/invoices\/(\w+)\/finalize$/,
      ({ path, idempotencyKey }) => [200, finalize(found(invoices, 'invoice', path.split('/')[3]!), idempotencyKey)],
    ],
    // Invoice items: a one-off amount (negative for a credit) on a draft invoice, or pending until the
    // customer's next invoice. Only drafts take or give up items; an invoice holds at most 250.
    [
      'POST',
      /^\/v1\/invoiceitems$/,
      ({ form }) => {
        const customerId = text(form, 'customer');
        if (!customerId) throw invalid('Missing required param: customer.', 'customer');
        if (!customers.has(customerId))
          throw new StripeHttpError(400, {
            type: 'invalid_request_error',
            code: 'resource_missing',
            message: `No such customer: '${customerId}'`,
            param: 'customer',
          });
        const amount = text(form, 'amount');
        if (amount === undefined) throw invalid('Missing required param: amount.', 'amount');
        if (!/^-?\d+$/.test(amount)) throw invalid(`Invalid integer: ${amount}`, 'amount');
        const invoiceId = text(form, 'invoice');
        const invoice = invoiceId === undefined ? undefined : invoices.get(invoiceId);
        if (invoiceId !== undefined && !invoice)
          throw new StripeHttpError(400, {
            type: 'invalid_request_error',
            code: 'resource_missing',
            message: `No such invoice: '${invoiceId}'`,
            param: 'invoice',
          });
        if (invoice && invoice.status !== 'draft')
          throw invalid('You can only add invoice items to draft invoices.', 'invoice', 'invoice_not_editable');
        if (invoice && invoice.customer !== customerId)
          throw invalid(`The invoice ${invoice.id} does not belong to the customer ${customerId}.`, 'invoice');
        if (invoice && invoice.lines.data.length >= 250) throw invalid('An invoice can hold at most 250 invoice items.', 'invoice');
        const currency = (text(form, 'currency') ?? invoice?.currency ?? 'usd').toLowerCase();
        if (invoice && currency !== invoice.currency)
          throw invalid(`The currency of the invoice item (${currency}) must match the invoice's (${invoice.currency}).`, 'currency');
        const subscription = text(form, 'subscription');
        if (subscription) found(subscriptions, 'subscription', subscription);
        const period = record(form, 'period');
        const item = fixture('invoiceitem', {
          id: stripeId('ii'),
          customer: customerId,
          date: seconds(),
          amount: Number(amount),
          net_amount: Number(amount),
          currency,
          description: text(form, 'description') ?? null,
          // Stripe's default: negative items are not discountable.
          discountable: text(form, 'discountable') ? text(form, 'discountable') === 'true' : Number(amount) >= 0,
          invoice: null,
          metadata: record(form, 'metadata'),
          period: {
            start: Number(text(period, 'start') ?? seconds()),
            end: Number(text(period, 'end') ?? seconds()),
          },
          quantity: 1,
          quantity_decimal: '1',
          parent: subscription ? { type: 'subscription_details', subscription_details: { subscription } } : null,
          pricing: { type: 'price_details', unit_amount_decimal: amount },
        });
        invoiceItems.set(item.id, item);
        if (invoice) attach(item, invoice);
        return [200, item];
      },
    ],
    [
      'GET',
      /^\/v1\/invoiceitems$/,
      ({ query }) => {
        const [invoice, customer, pending] = ['invoice', 'customer', 'pending'].map((k) => query.get(k));
        const matching = newestFirst(invoiceItems.values()).filter(
          (i) =>
            (!invoice || i.invoice === invoice) &&
            (!customer || i.customer === customer) &&
            (pending === null || (i.invoice === null) === (pending === 'true')),
        );
        return [200, list(matching, '/v1/invoiceitems')];
      },
    ],
    ['GET', /^\/v1\/invoiceitems\/(\w+)$/, ({ path }) => [200, found(invoiceItems, 'invoiceitem', path.split('/')[3]!)]],
    [
      'DELETE',
      /^\/v1\/invoiceitems\/(\w+)$/,
      ({ path }) => {
        const item = found(invoiceItems, 'invoiceitem', path.split('/')[3]!);
        const invoice = item.invoice ? invoices.get(item.invoice) : undefined;
        if (invoice && invoice.status !== 'draft')
          throw invalid('You can only delete invoice items that are pending or on a draft invoice.', undefined, 'invoice_not_editable');
        if (invoice) {
          invoice.lines.data = invoice.lines.data.filter((l: StripeObject) => l.parent?.invoice_item_details?.invoice_item !== item.id);
          retotal(invoice);
        }
        invoiceItems.delete(item.id);
        return [200, { id: item.id, object: 'invoiceitem', deleted: true }];
      },
    ],
    // Invoice actions as Stripe answers them: pay only an open (or uncollectible) invoice, void an open or
    // uncollectible one, mark an open one uncollectible. Stripe's test payment method pm_card_chargeDeclined
    // makes a payment fail: a 402 card_error, invoice.payment_failed, and the invoice stays open.
    [
      'POST',
      /^\/v1\/invoices\/(\w+)\/pay$/,
      ({ path, form, idempotencyKey }) => {
        const invoice = found(invoices, 'invoice', path.split('/')[3]!);
        if (invoice.status === 'paid') throw invalid('Invoice is already paid', undefined, 'invoice_already_paid');
        if (invoice.status !== 'open' && invoice.status !== 'uncollectible')
          throw invalid(
            `You can only pay an invoice that is open or uncollectible; this one is ${invoice.status}.`,
            undefined,
            'invoice_not_editable',
          );
        invoice.attempt_count += 1;
        invoice.attempted = true;
        if (text(form, 'payment_method') === 'pm_card_chargeDeclined') {
          emit('invoice.payment_failed', invoice, { attempt_count: invoice.attempt_count - 1 }, idempotencyKey);
          throw new StripeHttpError(402, { type: 'card_error', code: 'card_declined', message: 'Your card was declined.' });
        }
        const previous = { status: invoice.status, amount_paid: invoice.amount_paid, amount_remaining: invoice.amount_remaining };
        Object.assign(invoice, {
          status: 'paid',
          paid: true,
          amount_paid: invoice.amount_due,
          amount_remaining: 0,
          status_transitions: { ...invoice.status_transitions, paid_at: seconds() },
        });
        emit('invoice.paid', invoice, previous, idempotencyKey);
        emit('invoice.payment_succeeded', invoice, previous, idempotencyKey);
        return [200, invoice];
      },
    ],
    [
      'POST',
      /^\/v1\/invoices\/(\w+)\/void$/,
      ({ path, idempotencyKey }) => {
        const invoice = found(invoices, 'invoice', path.split('/')[3]!);
        if (invoice.status !== 'open' && invoice.status !== 'uncollectible')
          throw invalid(
            `You can only void an open or uncollectible invoice; this one is ${invoice.status}.`,
            undefined,
            'invoice_not_editable',
          );
        const previous = { status: invoice.status };
        Object.assign(invoice, { status: 'void', status_transitions: { ...invoice.status_transitions, voided_at: seconds() } });
        emit('invoice.voided', invoice, previous, idempotencyKey);
        return [200, invoice];
      },
    ],
    [
      'POST',
      /^\/v1\/invoices\/(\w+)\/mark_uncollectible$/,
      ({ path, idempotencyKey }) => {
        const invoice = found(invoices, 'invoice', path.split('/')[3]!);
        if (invoice.status !== 'open')
          throw invalid(
            `You can only mark an open invoice uncollectible; this one is ${invoice.status}.`,
            undefined,
            'invoice_not_editable',
          );
        Object.assign(invoice, {
          status: 'uncollectible',
          status_transitions: { ...invoice.status_transitions, marked_uncollectible_at: seconds() },
        });
        emit('invoice.marked_uncollectible', invoice, { status: 'open' }, idempotencyKey);
        return [200, invoice];
      },
    ],
    ['GET', /^\/v2\/core\/events\/(\w+)$/, ({ path }) => [200, found(thinEvents, 'event', path.split('/')[4]!)]],
  ];

  const take = (bucket: { tokens: number; at: number }, perSecond: number) => {
    const t = now();
    bucket.tokens = Math.min(perSecond, bucket.tokens + ((t - bucket.at) / 1000) * perSecond);
    bucket.at = t;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  };

  const answer = (res: ServerResponse, status: number, body: StripeObject, extra: Record<string, string> = {}) => {
    res.writeHead(status, {
      'content-type': 'application/json',
      'request-id': stripeId('req'),
      'stripe-version': Stripe.API_VERSION,
      ...extra,
    });
    res.end(JSON.stringify(body));
  };
  const error = (status: number, body: StripeHttpError['body']) => ({
    error: {
      ...body,
      doc_url: body.code ? `https://docs.stripe.com/error-codes/${body.code.replace(/_/g, '-')}` : undefined,
      request_log_url: null,
    },
  });

  const handle = async (req: IncomingMessage, res: ServerResponse, body: string) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const log = (status: number) => calls.push({ method, path, status });

    const portal = method === 'GET' ? /^\/p\/session\/([\w-]+)$/.exec(path) : null;
    if (portal) return portalPage(res, portalSessions.get(portal[1]!), customers);
    if (req.headers.authorization !== `Bearer ${apiKey}`) {
      log(401);
      return answer(res, 401, error(401, { type: 'invalid_request_error', message: 'Invalid API Key provided.' }));
    }
    const fault = faults.find((f) => f.times > 0 && (!f.path || path.startsWith(f.path)));
    if (fault) fault.times -= 1;
    if (fault?.kind === 429) {
      log(429);
      return answer(
        res,
        429,
        error(429, {
          type: 'invalid_request_error',
          code: 'rate_limit',
          message: 'Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.',
        }),
      );
    }
    if (fault?.kind === 500) {
      log(500);
      return answer(res, 500, error(500, { type: 'api_error', message: 'An unknown error occurred' }));
    }
    if (fault?.kind === 'hang') {
      log(0);
      hanging.add(res);
      return;
    }
    const isMeterEvent = method === 'POST' && path === '/v1/billing/meter_events';
    if (
      rateLimit &&
      !take(isMeterEvent ? buckets.meterEvents : buckets.other, isMeterEvent ? rateLimit.meterEventsPerSecond : rateLimit.requestsPerSecond)
    ) {
      log(429);
      return answer(
        res,
        429,
        error(429, {
          type: 'invalid_request_error',
          code: 'rate_limit',
          message: 'Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.',
        }),
      );
    }

    const form = method === 'POST' ? parseForm(body) : {};
    // Stripe serialises writes to one customer's meter: a concurrent event for the same pair waits for a lock and may time out.
    const lock = isMeterEvent ? `${text(record(form, 'payload'), 'stripe_customer_id')}|${text(form, 'event_name')}` : undefined;
    if (lock && inFlight.has(lock)) {
      log(429);
      return answer(
        res,
        429,
        error(429, {
          type: 'invalid_request_error',
          code: 'lock_timeout',
          message: 'This object cannot be accessed right now because another API request or Stripe process is currently accessing it.',
        }),
      );
    }
    if (lock) inFlight.add(lock);
    try {
      if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs));
      const idempotencyKey = method === 'POST' ? (req.headers['idempotency-key'] as string | undefined) : undefined;
      const fingerprint = createHash('sha256').update(`${method} ${path} ${body}`).digest('hex');
      const replay = idempotencyKey ? idempotency.get(idempotencyKey) : undefined;
      let status: number;
      let out: StripeObject;
      if (replay && replay.fingerprint !== fingerprint) {
        status = 400;
        out = error(400, {
          type: 'idempotency_error',
          message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
        });
      } else if (replay) {
        log(replay.status);
        return answer(res, replay.status, replay.body, { 'idempotent-replayed': 'true' });
      } else {
        const route = routes.find(([m, pattern]) => m === method && pattern.test(path));
        try {
          if (!route)
            throw new StripeHttpError(404, { type: 'invalid_request_error', message: `Unrecognized request URL (${method}: ${path}).` });
          [status, out] = route[2]({ method, path, form, query: url.searchParams, idempotencyKey });
        } catch (e) {
          if (!(e instanceof StripeHttpError)) throw e;
          status = e.status;
          out = error(e.status, e.body);
        }
        if (idempotencyKey) idempotency.set(idempotencyKey, { fingerprint, status, body: out });
        if (method !== 'GET') persist();
      }
      if (fault?.kind === 'hang-after-processing') {
        log(0);
        hanging.add(res);
        return;
      }
      log(status);
      answer(res, status, out);
    } finally {
      if (lock) inFlight.delete(lock);
    }
  };

  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (p: Buffer) => parts.push(p));
    req.on('end', () => {
      handle(req, res, Buffer.concat(parts).toString('utf8')).catch((e) => {
        console.error('stripe emulator: request failed', e);
        answer(res, 500, error(500, { type: 'api_error', message: 'emulator failure' }));
      });
    });
  });
  const port = options.port ?? (await freePort());
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => done());
  });

  const aggregate = (meter: StripeObject, customerId: string, period: { start: number; end: number }) => {
    const values = meterEvents
      .filter(
        (e) =>
          e.event_name === meter.event_name &&
          e.payload[meter.customer_mapping.event_payload_key] === customerId &&
          e.timestamp >= period.start &&
          e.timestamp < period.end,
      )
      .sort((a, b) => a.timestamp - b.timestamp);
    const numbers = values.map((e) => new Dec(e.payload[meter.value_settings.event_payload_key] ?? '0'));
    switch (meter.default_aggregation.formula) {
      case 'count':
        return new Dec(values.length);
      case 'last':
        return numbers.at(-1) ?? new Dec(0);
      default:
        // Negative quantities correct earlier ones; a period that sums below zero bills 0 (Stripe's meters guide).
        return Dec.max(
          numbers.reduce((a, b) => a.plus(b), new Dec(0)),
          0,
        );
    }
  };

  /** What a subscription item bills for a period: metered ones the period's aggregated usage, licensed ones their quantity. */
  const itemCharge = (item: StripeObject, customerId: string, period: { start: number; end: number }) => {
    const quantity = item.price.recurring?.meter
      ? aggregate(found(meters, 'billing.meter', item.price.recurring.meter), customerId, period)
      : new Dec(item.quantity ?? 1);
    const amount = priceAmount(item.price, quantity).toDecimalPlaces(0).toNumber();
    return {
      amount,
      subtotal: amount,
      quantity: quantity.toNumber(),
      quantity_decimal: quantity.toString(),
      description: `${quantity} × ${item.price.id}`,
    };
  };
  /** At finalization a cycle invoice's metered lines take the latest usage of its period (late meter events included). */
  const refreshUsage = (invoice: StripeObject) => {
    const subscription = invoice.subscription ? subscriptions.get(invoice.subscription) : undefined;
    if (!subscription || invoice.billing_reason !== 'subscription_cycle') return;
    const period = { start: invoice.period_start, end: invoice.period_end };
    for (const line of invoice.lines.data as StripeObject[]) {
      const itemId = line.parent?.subscription_item_details?.subscription_item;
      const item = (subscription.items.data as StripeObject[]).find((i) => i.id === itemId);
      if (item?.price.recurring?.meter) Object.assign(line, itemCharge(item, subscription.customer, period));
    }
    retotal(invoice);
  };

  const emulator: StripeEmulator = {
    url: `http://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    protocol: 'http',
    apiKey,
    meterEvents: () => [...meterEvents],
    events: () => [...events],
    calls: () => [...calls],
    inject: (fault) => faults.push({ ...fault }),
    setRateLimit: (limit) => (rateLimit = limit),
    setWebhook: (endpoint) => (webhook = endpoint),
    sendWebhook: send,
    async createInvoice(subscriptionId, period) {
      const subscription = found(subscriptions, 'subscription', subscriptionId);
      const id = stripeId('in');
      const template = fixture('invoice', {}).lines.data[0] as StripeObject;
      // Metered items bill the period's usage in arrears; licensed ones (quantity × price) the next period in advance.
      const next = { start: period.end, end: period.end + (period.end - period.start) };
      const lines = (subscription.items.data as StripeObject[]).map((item) => {
        const metered = Boolean(item.price.recurring?.meter);
        const linePeriod = metered ? period : next;
        return {
          ...template,
          id: stripeId('il'),
          invoice: id,
          ...itemCharge(item, subscription.customer, period),
          period: { start: linePeriod.start, end: linePeriod.end },
          subscription: subscriptionId,
          parent: {
            type: 'subscription_item_details',
            invoice_item_details: null,
            subscription_item_details: {
              invoice_item: null,
              proration: false,
              proration_details: { credited_items: null },
              subscription: subscriptionId,
              subscription_item: item.id,
            },
          },
          pricing: {
            type: 'price_details',
            price_details: { price: item.price.id, product: item.price.product },
            unit_amount_decimal: item.price.unit_amount_decimal,
          },
        };
      });
      const total = lines.reduce((sum, l) => sum + l.amount, 0);
      const invoice = fixture('invoice', {
        id,
        customer: subscription.customer,
        created: seconds(),
        billing_reason: 'subscription_cycle',
        status: 'draft',
        period_start: period.start,
        period_end: period.end,
        subscription: subscriptionId,
        parent: {
          type: 'subscription_details',
          quote_details: null,
          subscription_details: { metadata: subscription.metadata, subscription: subscriptionId },
        },
        lines: list(lines, `/v1/invoices/${id}/lines`),
        subtotal: total,
        subtotal_excluding_tax: total,
        total,
        total_excluding_tax: total,
        amount_due: total,
        amount_remaining: total,
        amount_paid: 0,
        last_finalization_error: null,
        from_invoice: null,
      });
      invoices.set(id, invoice);
      // The customer's pending invoice items go on its next invoice.
      for (const item of invoiceItems.values()) if (item.customer === subscription.customer && item.invoice === null) attach(item, invoice);
      emit('invoice.created', invoice);
      persist();
      return structuredClone(invoice);
    },
    async finalizeInvoice(subscriptionId, period) {
      const draft = await emulator.createInvoice(subscriptionId, period);
      const invoice = finalize(invoices.get(draft.id)!);
      persist();
      return structuredClone(invoice);
    },
    meterErrorReport(meterId, e) {
      const meter = found(meters, 'billing.meter', meterId);
      const id = stripeId('evt');
      const created = new Date(now()).toISOString();
      const notification = {
        id,
        object: 'v2.core.event',
        type: 'v1.billing.meter.error_report_triggered',
        created,
        livemode: false,
        related_object: { id: meter.id, type: 'billing.meter', url: `/v1/billing/meters/${meter.id}` },
      };
      thinEvents.set(id, {
        ...notification,
        data: {
          developer_message_summary: `There is 1 invalid event for meter ${meter.event_name}`,
          reason: {
            error_count: 1,
            error_types: [
              { code: e.code, error_count: 1, sample_errors: [{ error_message: e.message, request: { identifier: e.identifier } }] },
            ],
          },
          validation_start: created,
          validation_end: created,
        },
      });
      persist();
      return notification;
    },
    stop: async () => {
      await Promise.all(deliveries);
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
  return emulator;
}

/** The page a portal session's URL opens: who it is for and the way back, as Stripe's portal offers. */
function portalPage(res: ServerResponse, session: StripeObject | undefined, customers: ReadonlyMap<string, StripeObject>): void {
  const esc = (t: string) => t.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  if (!session) {
    res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>Session expired</title><p>This customer portal session is not valid.</p>');
    return;
  }
  const customer = customers.get(session.customer);
  const back = session.return_url ? `<p><a id="return" href="${esc(session.return_url)}">Return to Meterline</a></p>` : '';
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Customer portal</title></head><body>
<h1>Customer portal (local Stripe emulator)</h1>
<p>Manage the plan and payment methods of <strong>${esc(String(customer?.name ?? session.customer))}</strong> (${esc(session.customer)}).</p>
${back}</body></html>`);
}
