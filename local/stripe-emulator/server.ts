import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Stripe from 'stripe';
import { freePort } from '../net.js';
import { billingOf } from './billing.js';
import { found, StripeHttpError } from './errors.js';
import { fixture, list, type StripeObject, stripeId } from './fixtures.js';
import { parseForm, record, text } from './form.js';
import { portalPage } from './portal.js';
import type { Emulation, Route } from './routes.js';
import { catalogRoutes } from './routes-catalog.js';
import { customerRoutes } from './routes-customers.js';
import { invoiceRoutes } from './routes-invoices.js';
import { meterRoutes } from './routes-meters.js';
import { subscriptionRoutes } from './routes-subscriptions.js';
import { StripeStore } from './store.js';

export { StripeHttpError } from './errors.js';

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
  /** The Idempotency-Key header of a POST, if it had one. */
  idempotencyKey?: string;
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
  /** Forgets every idempotency key, as Stripe does once a key is 24 hours old: a repeated key then makes a new request. */
  expireIdempotencyKeys(): void;
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

const LOCAL_API_KEY = 'sk_test_meterline_local';
export const LOCAL_WEBHOOK_SECRET = 'whsec_meterline_local';

/** True when the environment holds a Stripe key of its own: then the local stack talks to Stripe itself. */
export function usesRealStripe(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.STRIPE_SECRET_KEY !== undefined && env.STRIPE_SECRET_KEY !== LOCAL_API_KEY;
}

export async function startStripeEmulator(options: StripeEmulatorOptions = {}): Promise<StripeEmulator> {
  const now = options.now ?? Date.now;
  const seconds = () => Math.floor(now() / 1000);
  const apiKey = options.apiKey ?? LOCAL_API_KEY;

  const store = new StripeStore(options.statePath);
  const { customers, meters, subscriptions, invoices, invoiceItems, portalSessions, thinEvents, idempotency, meterEvents, events } = store;
  const persist = () => store.persist();
  const calls: StripeCall[] = [];
  const faults: Fault[] = [];
  const inFlight = new Set<string>();
  const hanging = new Set<ServerResponse>();
  let rateLimit = options.rateLimit;
  let webhook: { url: string; secret: string } | undefined;
  /** Webhook deliveries on their way: stopping waits for them, as the receiver is still up. */
  const deliveries = new Set<Promise<void>>();
  const buckets = { meterEvents: { tokens: 0, at: 0 }, other: { tokens: 0, at: 0 } };

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

  const port = options.port ?? (await freePort());
  const billing = billingOf(store, seconds, emit);
  const emulation: Emulation = { store, seconds, emit, billing, port };
  const routes: Route[] = [
    ...customerRoutes(emulation),
    ...meterRoutes(emulation),
    ...catalogRoutes(emulation),
    ...subscriptionRoutes(emulation),
    ...invoiceRoutes(emulation),
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
    const sentKey = method === 'POST' ? (req.headers['idempotency-key'] as string | undefined) : undefined;
    const log = (status: number) => calls.push({ method, path, status, ...(sentKey ? { idempotencyKey: sentKey } : {}) });

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
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => done());
  });

  const emulator: StripeEmulator = {
    url: `http://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    protocol: 'http',
    apiKey,
    meterEvents: () => [...meterEvents],
    events: () => [...events],
    calls: () => [...calls],
    expireIdempotencyKeys: () => {
      idempotency.clear();
      persist();
    },
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
          ...billing.itemCharge(item, subscription.customer, period),
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
      for (const item of invoiceItems.values())
        if (item.customer === subscription.customer && item.invoice === null) billing.attach(item, invoice);
      emit('invoice.created', invoice);
      persist();
      return structuredClone(invoice);
    },
    async finalizeInvoice(subscriptionId, period) {
      const draft = await emulator.createInvoice(subscriptionId, period);
      const invoice = billing.finalize(invoices.get(draft.id)!);
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
