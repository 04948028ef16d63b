import { nextAnchor } from './billing.js';
import { found, invalid } from './errors.js';
import { fixture, list, type StripeObject, stripeId } from './fixtures.js';
import { record, text } from './form.js';
import type { Emulation, Route } from './routes.js';

/** Subscriptions: created (anchored, backdated, on trial), changed item by item, cancelled. */
export function subscriptionRoutes(x: Emulation): Route[] {
  const { customers, prices, subscriptions } = x.store;
  const { seconds, emit } = x;
  const { monthPeriod, subscriptionItem } = x.billing;
  return [
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
  ];
}
