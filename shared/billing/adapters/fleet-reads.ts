import { mapLimit } from '../../kernel/batching.js';
import type { Period } from '../../kernel/periods.js';
import type { Meter } from '../../metering/meters.js';
import { billedQuantity } from '../../metering/period-usage.js';
import type { CounterReads } from '../../metering/ports.js';
import type { FleetTenant } from '../fleet-simulations.js';
import type { Plan } from '../plans.js';
import type { BillingReads, FleetReads } from '../ports.js';
import type { Subscription } from '../subscriptions.js';
import type { DynamoBillingStore } from './billing-store.js';

/** Tenants whose invoices and meters are read at once. */
const CONCURRENCY = 16;

export interface FleetReadsDependencies {
  store: Pick<DynamoBillingStore, 'subscriptionPage' | 'countSubscriptions' | 'listInvoices' | 'getPlan'>;
  meters(tenantId: string): Promise<Meter[]>;
  /** A fresh read-ahead of counters, one per page (it holds what it read): metering's `CounterPrefetch`. */
  counters(): CounterReads & { prefetch(wanted: readonly { tenantId: string; meter: Meter; period: Period }[]): Promise<void> };
}

/**
 * The fleet as a simulation job reads it: a page of subscriptions, then per tenant its invoices and meters
 * (a query each, 16 tenants at once), then every counter the page's periods are billed from in BatchGetItem requests
 * of 100 keys, so that pricing the page reads no counter one request at a time.
 */
export class DynamoFleetReads implements FleetReads {
  constructor(private readonly deps: FleetReadsDependencies) {}

  countSubscriptions(): Promise<number> {
    return this.deps.store.countSubscriptions();
  }

  subscriptionPage(after: string | undefined, limit: number) {
    return this.deps.store.subscriptionPage(after, limit);
  }

  async load(subscriptions: readonly Subscription[], periods: number): Promise<{ tenants: FleetTenant[]; reads: BillingReads }> {
    const loaded = await mapLimit(subscriptions, CONCURRENCY, async (sub) => {
      const [{ invoices }, meters] = await Promise.all([
        this.deps.store.listInvoices(sub.tenantId, periods),
        this.deps.meters(sub.tenantId),
      ]);
      return { sub, invoices, meters };
    });
    const counters = this.deps.counters();
    await counters.prefetch(
      loaded.flatMap(({ sub, invoices, meters }) =>
        invoices
          .filter((i) => i.status !== 'void')
          .flatMap((i) =>
            meters.map((meter) => ({
              tenantId: sub.tenantId,
              meter,
              period: { start: Date.parse(i.periodStart), end: Date.parse(i.periodEnd) },
            })),
          ),
      ),
    );
    const metersOf = new Map(loaded.map((t) => [t.sub.tenantId, t.meters]));
    const plans = new Map<string, Promise<Plan | undefined>>();
    const reads: BillingReads = {
      plan: (ref) => {
        if (!plans.has(ref)) plans.set(ref, this.deps.store.getPlan(ref));
        return plans.get(ref)!;
      },
      meters: async (tenantId) => metersOf.get(tenantId) ?? this.deps.meters(tenantId),
      quantity: (tenantId, meter, period, asOf) => billedQuantity(counters, tenantId, meter, period, asOf),
    };
    return { tenants: loaded.map(({ sub, invoices }) => ({ sub, invoices })), reads };
  }
}
