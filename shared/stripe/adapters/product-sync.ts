import { createHash } from 'node:crypto';
import Stripe from 'stripe';
import type { StripePriceSpec, StripeSubscriptionSpec, SubscriptionLink } from '../products.js';
import { ensureOnce } from './run-cache.js';

type Call = <T>(request: () => Promise<T>) => Promise<T>;

/** Stripe filters prices by at most 10 lookup keys per list call. */
const LOOKUP_KEYS_PER_LIST = 10;

/**
 * Executes shared/stripe/products.ts's specs against Stripe, idempotently: a product per plan (its id
 * is derived from the plan's), prices found by lookup key and created with it as Idempotency-Key
 * when missing, a subscription per tenant created and updated under keys named by its link's version.
 * Prices are immutable in Stripe: a changed plan price has a new lookup key (it hashes the amounts),
 * so it is a new price and subscriptions still on the old one keep it until moved.
 */
export class StripeProductSync {
  /** Prices by lookup key, found or created once per run (many tenants share a plan). */
  private readonly prices = new Map<string, Promise<string>>();
  private readonly products = new Map<string, Promise<string>>();

  constructor(
    private readonly client: () => Promise<Stripe>,
    private readonly call: Call,
  ) {}

  /** The price ids by lookup key; `meterIds` maps Stripe meter event names to meter ids. */
  async ensurePrices(
    plan: { id: string; name: string },
    specs: readonly StripePriceSpec[],
    meterIds: ReadonlyMap<string, string>,
  ): Promise<Map<string, string>> {
    const missing = specs.filter((s) => !this.prices.has(s.lookupKey)).map((s) => s.lookupKey);
    // One listing for all the plan's prices not seen yet this run; each missing one is then created.
    const found = missing.length > 0 ? this.findPrices(missing) : undefined;
    const ids = specs.map(
      async (spec) =>
        [
          spec.lookupKey,
          await ensureOnce(
            this.prices,
            spec.lookupKey,
            async () => (await found!).get(spec.lookupKey) ?? this.createPrice(plan, spec, meterIds),
          ),
        ] as const,
    );
    return new Map(await Promise.all(ids));
  }

  /** Creates or updates the tenant's Stripe subscription; the new link when something changed, else undefined. */
  async ensureSubscription(
    customerId: string,
    spec: StripeSubscriptionSpec,
    priceIds: ReadonlyMap<string, string>,
    link: SubscriptionLink | undefined,
  ): Promise<SubscriptionLink | undefined> {
    const stripe = await this.client();
    const priceOf = (key: string) => priceIds.get(key) ?? fail(`no Stripe price for ${key}`);
    if (!link || link.startedAt !== spec.startedAt) {
      const created = await this.call(() =>
        stripe.subscriptions.create(
          {
            customer: customerId,
            // The base fee is licensed (quantity 1); metered items take no quantity.
            items: spec.lookupKeys.map((key, i) => (i === 0 ? { price: priceOf(key), quantity: 1 } : { price: priceOf(key) })),
            backdate_start_date: spec.backdateStartDate,
            ...(spec.anchorConfig
              ? {
                  billing_cycle_anchor_config: {
                    day_of_month: spec.anchorConfig.dayOfMonth,
                    ...(spec.anchorConfig.month ? { month: spec.anchorConfig.month } : {}),
                    hour: spec.anchorConfig.hour ?? 0,
                    minute: spec.anchorConfig.minute ?? 0,
                    second: 0,
                  },
                }
              : { trial_end: spec.trialEnd! }),
            cancel_at_period_end: spec.cancelAtPeriodEnd,
            metadata: { tenant_id: spec.tenantId, plan_id: spec.planId },
          },
          { idempotencyKey: `meterline-subscription-${spec.tenantId}-${Date.parse(spec.startedAt) / 1000}` },
        ),
      );
      return {
        subscriptionId: created.id,
        startedAt: spec.startedAt,
        planId: spec.planId,
        items: itemsByKey(created, spec.lookupKeys, priceIds),
        cancelAtPeriodEnd: spec.cancelAtPeriodEnd,
        version: (link?.version ?? -1) + 1,
      };
    }
    const removed = Object.keys(link.items).filter((key) => !spec.lookupKeys.includes(key));
    const added = spec.lookupKeys.filter((key) => !link.items[key]);
    if (removed.length === 0 && added.length === 0 && link.cancelAtPeriodEnd === spec.cancelAtPeriodEnd) return undefined;
    const updated = await this.call(() =>
      stripe.subscriptions.update(
        link.subscriptionId,
        {
          ...(removed.length + added.length > 0
            ? {
                items: [
                  ...removed.map((key) => ({ id: link.items[key]!, deleted: true })),
                  ...added.map((key) => (key === spec.lookupKeys[0] ? { price: priceOf(key), quantity: 1 } : { price: priceOf(key) })),
                ],
              }
            : {}),
          cancel_at_period_end: spec.cancelAtPeriodEnd,
          metadata: { tenant_id: spec.tenantId, plan_id: spec.planId },
        },
        { idempotencyKey: `meterline-subscription-${spec.tenantId}-v${link.version + 1}` },
      ),
    );
    return {
      ...link,
      planId: spec.planId,
      items: itemsByKey(updated, spec.lookupKeys, priceIds),
      cancelAtPeriodEnd: spec.cancelAtPeriodEnd,
      version: link.version + 1,
    };
  }

  private async findPrices(lookupKeys: string[]): Promise<Map<string, string>> {
    const stripe = await this.client();
    const ids = new Map<string, string>();
    for (let i = 0; i < lookupKeys.length; i += LOOKUP_KEYS_PER_LIST) {
      const page = await this.call(() =>
        stripe.prices.list({ lookup_keys: lookupKeys.slice(i, i + LOOKUP_KEYS_PER_LIST), active: true, limit: 100 }),
      );
      for (const price of page.data) if (price.lookup_key) ids.set(price.lookup_key, price.id);
    }
    return ids;
  }

  private async createPrice(
    plan: { id: string; name: string },
    spec: StripePriceSpec,
    meterIds: ReadonlyMap<string, string>,
  ): Promise<string> {
    const stripe = await this.client();
    const product = await this.ensureProduct(plan);
    const meter = spec.meter ? (meterIds.get(spec.meter.eventName) ?? fail(`no Stripe meter ${spec.meter.eventName}`)) : undefined;
    const price = await this.call(() =>
      stripe.prices.create(
        {
          product,
          currency: spec.currency,
          nickname: spec.nickname,
          lookup_key: spec.lookupKey,
          metadata: { plan_id: plan.id, ...(spec.meter ? { meter: spec.meter.key } : {}) },
          recurring: {
            interval: spec.interval,
            ...(meter ? { usage_type: 'metered' as const, meter } : { usage_type: 'licensed' as const }),
          },
          ...(spec.tiers
            ? {
                billing_scheme: 'tiered' as const,
                tiers_mode: spec.tiersMode!,
                tiers: spec.tiers.map((t) => ({
                  up_to: t.upTo === 'inf' ? ('inf' as const) : safeInteger(t.upTo),
                  unit_amount_decimal: Stripe.Decimal.from(t.unitAmountDecimal),
                  flat_amount_decimal: Stripe.Decimal.from(t.flatAmountDecimal),
                })),
              }
            : { billing_scheme: 'per_unit' as const, unit_amount_decimal: Stripe.Decimal.from(spec.unitAmountDecimal!) }),
          ...(spec.transformQuantity
            ? { transform_quantity: { divide_by: safeInteger(spec.transformQuantity.divideBy), round: spec.transformQuantity.round } }
            : {}),
        },
        { idempotencyKey: `meterline-price-${createHash('sha256').update(spec.lookupKey).digest('hex')}` },
      ),
    );
    return price.id;
  }

  /** One product per plan, with an id of our own, so it is found without a listing. */
  private ensureProduct(plan: { id: string; name: string }): Promise<string> {
    return ensureOnce(this.products, plan.id, () => this.findOrCreateProduct(plan));
  }

  private async findOrCreateProduct(plan: { id: string; name: string }): Promise<string> {
    const stripe = await this.client();
    const id = `meterline-plan-${plan.id}`;
    try {
      return (await this.call(() => stripe.products.retrieve(id))).id;
    } catch (error) {
      if (!(error instanceof Stripe.errors.StripeInvalidRequestError && error.code === 'resource_missing')) throw error;
    }
    const product = await this.call(() =>
      stripe.products.create({ id, name: plan.name, metadata: { plan_id: plan.id } }, { idempotencyKey: `meterline-product-${plan.id}` }),
    );
    return product.id;
  }
}

function itemsByKey(
  subscription: Stripe.Subscription,
  lookupKeys: readonly string[],
  priceIds: ReadonlyMap<string, string>,
): Record<string, string> {
  const byPrice = new Map(subscription.items.data.map((item) => [item.price.id, item.id]));
  return Object.fromEntries(
    lookupKeys.map((key) => [
      key,
      byPrice.get(priceIds.get(key)!) ?? fail(`the Stripe subscription ${subscription.id} has no item for ${key}`),
    ]),
  );
}

function safeInteger(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`${text} is beyond what Stripe's integer parameters carry exactly`);
  return n;
}

function fail(message: string): never {
  throw new Error(message);
}
