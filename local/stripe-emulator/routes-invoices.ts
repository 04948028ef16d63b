import { found, invalid, StripeHttpError } from './errors.js';
import { fixture, list, type StripeObject, stripeId } from './fixtures.js';
import { type Form, record, text } from './form.js';
import type { Emulation, Route } from './routes.js';

/** Invoices, their lines and actions (finalize, pay, void, mark uncollectible), and invoice items. */
export function invoiceRoutes(x: Emulation): Route[] {
  const { customers, invoices, invoiceItems, subscriptions } = x.store;
  const { seconds, emit } = x;
  const { newestFirst, finalize, attach, retotal } = x.billing;
  /** The `customer` a create names: required, and one the emulator has (Stripe answers 400 on the param otherwise). */
  const customerParam = (form: Form): string => {
    const id = text(form, 'customer');
    if (!id) throw invalid('Missing required param: customer.', 'customer');
    if (!customers.has(id)) throw invalid(`No such customer: '${id}'`, 'customer', 'resource_missing');
    return id;
  };
  return [
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
    // A one-off invoice: a draft on the customer, outside any subscription, that bills only the items put on it (and the
    // customer's pending items with pending_invoice_items_behavior=include; exclude is the default since 2022-08-01).
    [
      'POST',
      /^\/v1\/invoices$/,
      ({ form, idempotencyKey }) => {
        const customerId = customerParam(form);
        const pending = text(form, 'pending_invoice_items_behavior') ?? 'exclude';
        if (pending !== 'include' && pending !== 'exclude')
          throw invalid(`Invalid pending_invoice_items_behavior: must be one of include or exclude`, 'pending_invoice_items_behavior');
        const collection = text(form, 'collection_method') ?? 'charge_automatically';
        if (collection !== 'charge_automatically' && collection !== 'send_invoice')
          throw invalid('Invalid collection_method: must be one of charge_automatically or send_invoice', 'collection_method');
        if (collection === 'send_invoice' && !text(form, 'days_until_due') && !text(form, 'due_date'))
          throw invalid('Missing required param: days_until_due or due_date when collection_method is send_invoice.', 'days_until_due');
        const autoAdvance = text(form, 'auto_advance');
        if (autoAdvance !== undefined && autoAdvance !== 'true' && autoAdvance !== 'false')
          throw invalid(`Invalid boolean: ${autoAdvance}`, 'auto_advance');
        const id = stripeId('in');
        const now = seconds();
        const invoice = fixture('invoice', {
          id,
          customer: customerId,
          created: now,
          effective_at: null,
          due_date: null,
          next_payment_attempt: null,
          webhooks_delivered_at: null,
          billing_reason: 'manual',
          collection_method: collection,
          auto_advance: autoAdvance === 'true',
          currency: (text(form, 'currency') ?? 'usd').toLowerCase(),
          description: text(form, 'description') ?? null,
          metadata: record(form, 'metadata'),
          status: 'draft',
          // A one-off invoice's period is the moment it was made.
          period_start: now,
          period_end: now,
          subscription: null,
          parent: null,
          from_invoice: null,
          last_finalization_error: null,
          lines: list([], `/v1/invoices/${id}/lines`),
          amount_paid: 0,
          amount_overpaid: 0,
        });
        retotal(invoice);
        invoices.set(id, invoice);
        if (pending === 'include')
          for (const item of invoiceItems.values()) if (item.customer === customerId && item.invoice === null) attach(item, invoice);
        emit('invoice.created', invoice, undefined, idempotencyKey);
        return [200, invoice];
      },
    ],
    [
      'POST',
      /^\/v1\/invoices\/(\w+)\/finalize$/,
      ({ path, form, idempotencyKey }) => {
        const invoice = found(invoices, 'invoice', path.split('/')[3]!);
        const autoAdvance = text(form, 'auto_advance');
        if (autoAdvance !== undefined && autoAdvance !== 'true' && autoAdvance !== 'false')
          throw invalid(`Invalid boolean: ${autoAdvance}`, 'auto_advance');
        const finalized = finalize(invoice, idempotencyKey);
        if (autoAdvance !== undefined) finalized.auto_advance = autoAdvance === 'true';
        return [200, finalized];
      },
    ],
    // Only a draft's finalization time can be set, to a moment to come (Stripe allows up to five years ahead).
    [
      'POST',
      /^\/v1\/invoices\/(\w+)$/,
      ({ path, form }) => {
        const invoice = found(invoices, 'invoice', path.split('/')[3]!);
        if (invoice.status !== 'draft')
          throw invalid(
            'You can only update the finalization time of a draft invoice.',
            'automatically_finalizes_at',
            'invoice_not_editable',
          );
        const at = text(form, 'automatically_finalizes_at');
        if (at !== undefined) {
          if (!/^\d+$/.test(at)) throw invalid(`Invalid integer: ${at}`, 'automatically_finalizes_at');
          if (Number(at) <= seconds() || Number(at) > seconds() + 5 * 365 * 86_400)
            throw invalid('automatically_finalizes_at must be in the future and within 5 years.', 'automatically_finalizes_at');
          invoice.automatically_finalizes_at = Number(at);
        }
        return [200, invoice];
      },
    ],
    // Invoice items: a one-off amount (negative for a credit) on a draft invoice, or pending until the
    // customer's next invoice. Only drafts take or give up items; an invoice holds at most 250.
    [
      'POST',
      /^\/v1\/invoiceitems$/,
      ({ form }) => {
        const customerId = customerParam(form);
        const amount = text(form, 'amount');
        if (amount === undefined) throw invalid('Missing required param: amount.', 'amount');
        if (!/^-?\d+$/.test(amount)) throw invalid(`Invalid integer: ${amount}`, 'amount');
        const invoiceId = text(form, 'invoice');
        const invoice = invoiceId === undefined ? undefined : invoices.get(invoiceId);
        if (invoiceId !== undefined && !invoice) throw invalid(`No such invoice: '${invoiceId}'`, 'invoice', 'resource_missing');
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
  ];
}
