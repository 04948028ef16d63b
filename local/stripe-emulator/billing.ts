import { Dec } from '../../shared/kernel/decimal.js';
import { found, invalid, StripeHttpError } from './errors.js';
import { fixture, type StripeObject, stripeId } from './fixtures.js';
import { type Form, text } from './form.js';
import type { StripeStore } from './store.js';

/** Stripe's billing as the emulator plays it: periods, subscription items, invoice lines and totals, metered usage. */
export const WINDOW_PAST_S = 35 * 86_400;

export const wholeOrNull = (decimal: string) => (new Dec(decimal).isInteger() ? Number(decimal) : null);

/**
 * `billing_cycle_anchor_config`: the next occurrence after `after` of that day of the month (the last
 * day of shorter months) and, for yearly prices, of that month, at the given UTC time. Seconds.
 */
export function nextAnchor(config: Form, after: number): number {
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

export const WINDOW_FUTURE_S = 300;

export type Billing = ReturnType<typeof billingOf>;

/** What the routes and the emulator's own period closing share: built over one store, clock and event emitter. */
export function billingOf(
  store: StripeStore,
  seconds: () => number,
  emit: (type: string, object: StripeObject, previous?: StripeObject, idempotencyKey?: string) => void,
) {
  const { invoices, meterEvents, meters, subscriptions } = store;
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

  return { monthPeriod, subscriptionItem, retotal, attach, finalize, newestFirst, itemCharge };
}
