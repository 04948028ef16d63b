import { noPlan } from '../api.js';
import { compare, percentOf } from '../decimal.js';
import { day, lastDay, money, trend, withUnit } from '../format.js';
import { useApi } from '../hooks.js';
import type { Analytics, CurrentUsage, Meter, Pricing, QuotaStatus, Upcoming } from '../types.js';
import { Empty, ErrorBox, Load, Loading, Page } from '../ui.js';

/** A bar for usage against a limit: green, yellow from 80%, red from 100%. */
export function QuotaBar({ label, usage, limit, unit }: { label: string; usage: string; limit: string; unit: string }) {
  const percent = percentOf(usage, limit);
  const level = compare(usage, limit) >= 0 ? 'red' : percent >= 80 ? 'yellow' : 'green';
  return (
    <div class="quota" data-level={level}>
      <div class="quota-label">
        <span>{label}</span>
        <span>
          {withUnit(usage, unit)} of {withUnit(limit, unit)}
        </span>
      </div>
      <div
        class="bar"
        role="progressbar"
        aria-label={`${label}: ${percent}%`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.min(percent, 100)}
      >
        <div class={`fill fill-${level}`} style={{ width: `${Math.min(percent, 100)}%` }} />
      </div>
      <div class="quota-note">
        {level === 'red' ? `${percent}%: limit reached` : level === 'yellow' ? `${percent}%: nearing the limit` : `${percent}% used`}
      </div>
    </div>
  );
}

export function Overview() {
  const analytics = useApi<Analytics>('/v1/analytics');
  const meters = useApi<{ meters: Meter[] }>('/v1/meters');
  const current = useApi<CurrentUsage>('/v1/usage/current');
  const pricing = useApi<Pricing>('/v1/pricing');
  const quotas = useApi<{ quotas: QuotaStatus[] }>('/v1/quotas');
  const upcoming = useApi<Upcoming>('/v1/invoices/upcoming');
  const withoutPlan = noPlan(analytics.error);

  if (meters.error) return <ErrorBox error={meters.error} retry={meters.reload} />;
  if (current.error) return <ErrorBox error={current.error} retry={current.reload} />;
  if (!meters.data || (!analytics.data && !analytics.error) || !current.data) return <Loading what="your usage" />;
  if (analytics.error && !withoutPlan) return <ErrorBox error={analytics.error} retry={analytics.reload} />;

  const a = analytics.data;
  const period = a?.period ?? current.data.period;
  const daysLeft = Math.max(0, Math.ceil((Date.parse(period.end) - Date.now()) / 86_400_000));
  const billed = new Map(a?.meters.map((m) => [m.meter, m]) ?? []);
  return (
    <Page title="Overview">
      <p class="period">
        Billing period <strong>{day(period.start, current.data.period.timeZone)}</strong> to{' '}
        <strong>{lastDay(period.end, current.data.period.timeZone)}</strong> ({current.data.period.timeZone}) · {daysLeft}{' '}
        {daysLeft === 1 ? 'day' : 'days'} left
        {a && <> · as of {new Date(a.asOf).toLocaleTimeString('en-US', { timeZone: 'UTC', timeStyle: 'short' })} UTC</>}
      </p>
      {withoutPlan && <p class="note">This account has no plan yet: usage is shown without costs.</p>}
      {meters.data.meters.length === 0 ? (
        <Empty>No meters are defined yet. Once your product sends usage, each meter gets a card here.</Empty>
      ) : (
        <div class="cards">
          {meters.data.meters.map((meter) => {
            const line = billed.get(meter.key);
            const unbilled = current.data!.meters.find((m) => m.meter === meter.key);
            const price = pricing.data?.plan.prices[meter.key];
            const hard = quotas.data?.quotas.find((q) => q.meter === meter.key);
            const t = trend(line?.quantityTrendPercent ?? null);
            // A gauge (storage held, seats) is read as its level now; what it bills is its level over time (GB-months).
            const gauge = meter.aggregation === 'LATEST';
            return (
              <article class="card" data-meter={meter.key} aria-labelledby={`card-${meter.key}`}>
                <h2 id={`card-${meter.key}`}>{meter.name}</h2>
                {gauge ? (
                  <>
                    <p class="quantity" data-testid="level" data-value={unbilled?.value ?? '0'}>
                      {withUnit(unbilled?.value ?? '0', meter.unit, 'readable')} now
                    </p>
                    {line && (
                      <p class="billed" data-testid="quantity" data-value={line.quantity}>
                        {withUnit(line.quantity, line.unit ?? meter.unit, 'readable')} billed so far
                      </p>
                    )}
                  </>
                ) : (
                  <p class="quantity" data-testid="quantity" data-value={line?.quantity ?? unbilled?.value ?? '0'}>
                    {withUnit(line?.quantity ?? unbilled?.value ?? '0', line?.unit ?? meter.unit)}
                  </p>
                )}
                {line ? (
                  <p class="cost" data-testid="cost" data-value={line.cost}>
                    {money(line.cost, a!.currency)} so far
                  </p>
                ) : (
                  <p class="cost muted">{a ? 'Not billed on your plan' : 'Calendar month to date'}</p>
                )}
                {line && <p class={`trend trend-${t.direction}`}>{t.text}</p>}
                {price?.model === 'quota' && price.included !== 'unlimited' && line && (
                  <QuotaBar label="Included in plan" usage={line.quantity} limit={price.included} unit={line.unit ?? meter.unit} />
                )}
                {hard && <QuotaBar label="Hard limit" usage={hard.usage} limit={hard.limit} unit={meter.unit} />}
              </article>
            );
          })}
        </div>
      )}
      {a && (
        <div class="summary">
          <article class="card">
            <h2>Projected for this period</h2>
            <p class="quantity" data-testid="projected" data-value={a.projectedCost}>
              {money(a.projectedCost, a.currency)}
            </p>
            <p class="muted">
              Base fee {money(a.baseFee, a.currency)} plus usage at the current rate, before tax. So far: {money(a.usageCost, a.currency)}{' '}
              of usage.
            </p>
          </article>
          <article class="card breakdown">
            <h2>Upcoming invoice</h2>
            <Load state={upcoming} what="the upcoming invoice">
              {(u) => (
                <table>
                  <caption class="sr-only">Cost breakdown of the upcoming invoice</caption>
                  <tbody>
                    {u.lines.map((l) => (
                      <tr>
                        <th scope="row">{l.description}</th>
                        <td class="num">{money(l.amount, u.currency)}</td>
                      </tr>
                    ))}
                    <tr>
                      <th scope="row">Subtotal</th>
                      <td class="num">{money(u.subtotal, u.currency)}</td>
                    </tr>
                    <tr>
                      <th scope="row">Tax</th>
                      <td class="num">{money(u.tax, u.currency)}</td>
                    </tr>
                    <tr class="total">
                      <th scope="row">Total so far</th>
                      <td class="num" data-testid="upcoming-total">
                        {money(u.total, u.currency)}
                      </td>
                    </tr>
                  </tbody>
                </table>
              )}
            </Load>
          </article>
        </div>
      )}
    </Page>
  );
}
