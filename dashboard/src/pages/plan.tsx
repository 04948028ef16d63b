import { useState } from 'preact/hooks';
import { send } from '../api.js';
import { day, lastDay, money, plural, quantity, withUnit } from '../format.js';
import { useApi } from '../hooks.js';
import type { Meter, Price, Pricing, QuotaStatus } from '../types.js';
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

export function Plan() {
  const pricing = useApi<Pricing>('/v1/pricing');
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
      <Load state={pricing} what="your plan">
        {(p) => {
          const unitOf = (key: string) => meters.data?.meters.find((m) => m.key === key);
          const billedUnit = (m: Meter | undefined) => (m?.aggregation === 'LATEST' ? `${m.unit}-month` : (m?.unit ?? 'unit'));
          return (
            <>
              <article class="card">
                <h2>{p.plan.name}</h2>
                <p class="quantity">
                  {money(p.plan.baseFee, p.plan.currency)} per {p.plan.interval}
                </p>
                <p class="muted">
                  Since {day(p.subscription.startedAt)}
                  {p.currentPeriod && (
                    <>
                      {' '}
                      · current period {day(p.currentPeriod.start)} – {lastDay(p.currentPeriod.end)}
                      {p.currentPeriod.trial ? ' (trial)' : ''}
                    </>
                  )}
                  {p.subscription.cancelAt && <> · ends {day(p.subscription.cancelAt)}</>}
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
              <h2>Limits</h2>
              {quotas.data?.quotas.length ? (
                quotas.data.quotas.map((q) => (
                  <QuotaBar
                    label={unitOf(q.meter)?.name ?? q.meter}
                    usage={q.usage}
                    limit={q.limit}
                    unit={unitOf(q.meter)?.unit ?? 'unit'}
                  />
                ))
              ) : (
                <p class="muted">No hard limits are set on this account.</p>
              )}
            </>
          );
        }}
      </Load>
    </Page>
  );
}
