import { useState } from 'preact/hooks';
import { noPlan, send } from '../api.js';
import { day, lastDay, money, plural, quantity, withUnit } from '../format.js';
import { useApi } from '../hooks.js';
import type { Credits, Entitlement, Meter, Price, Pricing, PublicPlans, QuotaStatus, Simulation } from '../types.js';
import { ErrorBox, Load, Page } from '../ui.js';
import { QuotaBar } from './overview.js';

function rate(price: Price, unit: string, currency: string): string {
  switch (price.model) {
    case 'free':
      return 'free';
    case 'perUnit':
      return `${money(price.unitPrice, currency)} per ${unit}`;
    case 'package':
      return `${money(price.packagePrice, currency)} per ${withUnit(price.packageSize, unit)}, ${price.rounding === 'up' ? 'each started package in full' : 'partial packages prorated'}`;
    case 'quota':
      return price.included === 'unlimited'
        ? 'included, unlimited'
        : `${withUnit(price.included, unit)} included, then ${money(price.unitPrice, currency)} per ${unit}`;
    case 'graduated':
    case 'volume':
      return (
        price.tiers
          .map(
            (t) =>
              `${t.upTo ? `up to ${quantity(t.upTo)} ${plural(unit, t.upTo)}` : 'beyond'}: ${money(t.unitPrice, currency)} per ${unit}`,
          )
          .join('; ') + (price.model === 'volume' ? ' (all units at the reached tier)' : '')
      );
  }
}

/** Words for a feature key: `advanced_reporting` → "Advanced reporting". */
const featureName = (key: string) => key.charAt(0).toUpperCase() + key.slice(1).replaceAll('_', ' ');

/** What the plan includes: booleans as included or not, values as they are, metered features with their use. */
function Includes({ entitlements, unitOf }: { entitlements: Entitlement[]; unitOf: (meter: string) => Meter | undefined }) {
  if (entitlements.length === 0) return <p class="muted">This plan lists no features beside its rates.</p>;
  return (
    <div class="table-scroll">
      <table class="list" data-testid="entitlements">
        <thead>
          <tr>
            <th scope="col">Feature</th>
            <th scope="col">Included</th>
            <th scope="col">Used this period</th>
          </tr>
        </thead>
        <tbody>
          {entitlements.map((e) => {
            const unit = (e.meter && unitOf(e.meter)?.unit) ?? 'unit';
            return (
              <tr data-feature={e.feature}>
                <th scope="row">{featureName(e.feature)}</th>
                <td>
                  {e.kind === 'boolean'
                    ? e.hasAccess
                      ? 'Yes'
                      : 'No'
                    : e.kind === 'static'
                      ? e.value === 'unlimited'
                        ? 'Unlimited'
                        : String(e.value)
                      : e.limit === 'unlimited'
                        ? 'Unlimited'
                        : `${withUnit(e.limit, unit)} per period${e.override ? ' (set for your account)' : ''}`}
                </td>
                <td>
                  {e.kind === 'metered' ? (
                    <>
                      {withUnit(e.usage, unit)}
                      {e.limit !== 'unlimited' && <span class="muted"> · {withUnit(e.remaining, unit)} left</span>}
                      {e.reason === 'BALANCE_EXHAUSTED' && <span class="muted"> · stopped: prepaid credits used up</span>}
                    </>
                  ) : (
                    <span class="muted">–</span>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** The credit balance now and at the period's end, and each grant with what is left of it. */
function CreditBalance({ credits, unitOf }: { credits: Credits; unitOf: (meter: string) => Meter | undefined }) {
  const live = credits.grants.filter((g) => g.status === 'active' || g.status === 'pending');
  return (
    <>
      <article class="card" data-testid="credit-balance">
        <h3>Balance</h3>
        <p class="quantity">{money(credits.balance, credits.currency)}</p>
        {credits.projectedBalance !== undefined && credits.periodEnd && (
          <p class="muted">
            {money(credits.projectedBalance, credits.currency)} expected at the end of the period ({lastDay(credits.periodEnd)}) at the
            current rate
          </p>
        )}
        {credits.prepaid && (
          <p class={credits.prepaid.exhausted ? 'error' : 'muted'}>
            Prepaid terms: {money(credits.prepaid.available, credits.currency)} available, overdraft of{' '}
            {money(credits.prepaid.overdraft, credits.currency)} included
            {credits.prepaid.exhausted ? '. Metered use is stopped until credits are added.' : ''}
          </p>
        )}
      </article>
      {live.length > 0 && (
        <div class="table-scroll">
          <table class="list" data-testid="credit-grants">
            <thead>
              <tr>
                <th scope="col">Grant</th>
                <th scope="col">Left</th>
                <th scope="col">Of</th>
                <th scope="col">Until</th>
              </tr>
            </thead>
            <tbody>
              {live.map((g) => {
                const amount = (v: string) => (g.meter ? withUnit(v, unitOf(g.meter)?.unit ?? 'unit') : money(v, credits.currency));
                return (
                  <tr>
                    <th scope="row">
                      {g.description ?? featureName(g.source)}
                      {g.meter ? ` (${unitOf(g.meter)?.name ?? g.meter})` : ''}
                    </th>
                    <td>{amount(g.remaining)}</td>
                    <td>
                      {amount(g.amount)}
                      {g.recurrence === 'monthly' ? ' a month' : ''}
                    </td>
                    <td>{g.expiresAt ? day(g.expiresAt) : g.recurrence === 'monthly' ? 'renews monthly' : 'no expiry'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

/** "What would I have paid on Professional?": the last invoiced periods re-priced on a public plan, beside the invoices. */
function WhatIf({ current }: { current: string }) {
  const plans = useApi<PublicPlans>('/v1/pricing/plans');
  const others = plans.data?.plans.filter((p) => p.id !== current) ?? [];
  const [chosen, setChosen] = useState<string | undefined>(undefined);
  const plan = chosen ?? others[0]?.id;
  const sim = useApi<Simulation>(plan ? `/v1/pricing/simulate?plan=${encodeURIComponent(plan)}` : undefined);
  if (plans.error) return <ErrorBox error={plans.error} retry={plans.reload} />;
  if (others.length === 0) return <p class="muted">No other public plan to compare with.</p>;
  return (
    <>
      <label>
        Compare with{' '}
        <select data-testid="simulate-plan" value={plan} onChange={(e) => setChosen((e.target as HTMLSelectElement).value)}>
          {others.map((p) => (
            <option value={p.id}>{p.name}</option>
          ))}
        </select>
      </label>
      <Load state={sim} what="the comparison">
        {(s) =>
          s.periods.length === 0 ? (
            <p class="muted">No invoiced period yet to compare.</p>
          ) : (
            <div class="table-scroll">
              <table class="list" data-testid="simulation">
                <thead>
                  <tr>
                    <th scope="col">Period</th>
                    <th scope="col">Invoiced</th>
                    <th scope="col">On {s.candidate.name}</th>
                    <th scope="col">Difference</th>
                  </tr>
                </thead>
                <tbody>
                  {s.periods.map((p) => (
                    <tr>
                      <th scope="row">
                        {day(p.periodStart)} – {lastDay(p.periodEnd)}
                      </th>
                      <td>{money(p.issued, s.currency)}</td>
                      <td>{money(p.simulated, s.currency)}</td>
                      <td>{money(p.difference, s.currency)}</td>
                    </tr>
                  ))}
                  <tr>
                    <th scope="row">Total</th>
                    <td>{money(s.issued, s.currency)}</td>
                    <td>{money(s.simulated, s.currency)}</td>
                    <td data-testid="simulation-difference">{money(s.difference, s.currency)}</td>
                  </tr>
                </tbody>
              </table>
              <p class="muted">
                Base fees, usage and minimums before tax, re-priced from your recorded usage; credits and late adjustments left as they
                were.
              </p>
            </div>
          )
        }
      </Load>
    </>
  );
}

export function Plan() {
  const pricing = useApi<Pricing>('/v1/pricing');
  const entitlements = useApi<{ entitlements: Entitlement[] }>('/v1/entitlements');
  const credits = useApi<Credits>('/v1/credits');
  const meters = useApi<{ meters: Meter[] }>('/v1/meters');
  const quotas = useApi<{ quotas: QuotaStatus[] }>('/v1/quotas');
  const [portal, setPortal] = useState<{ busy: boolean; error?: Error }>({ busy: false });
  const openPortal = async () => {
    setPortal({ busy: true });
    try {
      const session = await send<{ url: string }>('POST', '/v1/billing/portal-sessions');
      location.assign(session!.url);
    } catch (error) {
      setPortal({ busy: false, error: error as Error });
    }
  };
  return (
    <Page
      title="Plan & billing"
      actions={
        <button type="button" class="primary" onClick={openPortal} disabled={portal.busy}>
          {portal.busy ? 'Opening…' : 'Manage plan / payment methods'}
        </button>
      }
    >
      {portal.error && <ErrorBox error={portal.error} />}
      {noPlan(pricing.error) ? (
        <p class="note">
          This account has no plan yet: its usage is recorded, and its rates, features and credits show here once it has one.
        </p>
      ) : (
        <Load state={pricing} what="your plan">
          {(p) => {
            const unitOf = (key: string) => meters.data?.meters.find((m) => m.key === key);
            const billedUnit = (m: Meter | undefined) =>
              m?.aggregation === 'LATEST'
                ? `${m.unit}-month`
                : m?.aggregation === 'TIME_WEIGHTED'
                  ? `${m.unit}-${m.per}`
                  : (m?.unit ?? 'unit');
            return (
              <>
                <article class="card">
                  <h2>{p.plan.name}</h2>
                  <p class="quantity">
                    {money(p.plan.baseFee, p.plan.currency)} per {p.plan.interval}
                  </p>
                  <p class="muted">
                    Since {day(p.subscription.startedAt, p.subscription.timeZone)}
                    {p.currentPeriod && (
                      <>
                        {' '}
                        · current period {day(p.currentPeriod.start, p.subscription.timeZone)} –{' '}
                        {lastDay(p.currentPeriod.end, p.subscription.timeZone)}
                        {p.currentPeriod.trial ? ' (trial)' : ''}
                      </>
                    )}
                    {p.subscription.cancelAt && <> · ends {day(p.subscription.cancelAt, p.subscription.timeZone)}</>} · time zone{' '}
                    {p.subscription.timeZone}
                  </p>
                </article>
                <h2>Rates</h2>
                <div class="table-scroll">
                  <table class="list">
                    <thead>
                      <tr>
                        <th scope="col">Meter</th>
                        <th scope="col">Price</th>
                      </tr>
                    </thead>
                    <tbody>
                      {Object.entries(p.plan.prices).map(([key, price]) => (
                        <tr>
                          <th scope="row">{unitOf(key)?.name ?? key}</th>
                          <td>{rate(price, billedUnit(unitOf(key)), p.plan.currency)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
                <h2>What your plan includes</h2>
                <Load state={entitlements} what="your plan's features">
                  {(e) => <Includes entitlements={e.entitlements} unitOf={unitOf} />}
                </Load>
                <h2>Prepaid credits</h2>
                <Load state={credits} what="your credits">
                  {(c) =>
                    c.grants.length > 0 ? (
                      <CreditBalance credits={c} unitOf={unitOf} />
                    ) : (
                      <p class="muted">No prepaid credits on this account.</p>
                    )
                  }
                </Load>
                <h2>What would I have paid on another plan?</h2>
                <WhatIf current={p.plan.id} />
                <h2>Limits</h2>
                <Load state={quotas} what="your limits">
                  {(q) =>
                    q.quotas.length ? (
                      q.quotas.map((quota) => (
                        <QuotaBar
                          label={unitOf(quota.meter)?.name ?? quota.meter}
                          usage={quota.usage}
                          limit={quota.limit}
                          unit={unitOf(quota.meter)?.unit ?? 'unit'}
                        />
                      ))
                    ) : (
                      <p class="muted">No hard limits are set on this account.</p>
                    )
                  }
                </Load>
              </>
            );
          }}
        </Load>
      )}
    </Page>
  );
}
