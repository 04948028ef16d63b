import { useState } from 'preact/hooks';
import { send } from '../api.js';
import { dateTime, day, lastDay, money, withUnit } from '../format.js';
import { useApi } from '../hooks.js';
import type { ConsoleView, QuarantinedList } from '../types.js';
import { Empty, ErrorBox, Load, Page } from '../ui.js';
import { SimulationsCard } from './simulations.js';

/** The newest events the consumer set aside (GET /v1/admin/quarantine), each to replay once its cause is fixed. */
function QuarantineCard() {
  const state = useApi<QuarantinedList>('/v1/admin/quarantine?limit=20');
  return (
    <article class="card" data-testid="quarantine">
      <h2>Quarantined events</h2>
      <Load state={state} what="quarantined events">
        {(q) =>
          q.events.length === 0 ? (
            <p class="muted">None: every event received was counted or answered rejected.</p>
          ) : (
            <ul>
              {q.events.map((e) => (
                <li>
                  <strong>{e.tenantId}</strong>: {e.id} ({e.meter}) {e.quarantine?.reason}
                  {e.quarantine?.at ? ` (${dateTime(e.quarantine.at)})` : ''}
                </li>
              ))}
              {q.cursor && <li class="muted">and more: npm run admin -- quarantine list</li>}
            </ul>
          )
        }
      </Load>
    </article>
  );
}

export function Console() {
  const state = useApi<ConsoleView>('/v1/admin/console');
  const [error, setError] = useState<Error>();
  /** Opens the tenant's own dashboard in a new tab with a fresh read-only session. */
  const openTenant = async (tenantId: string) => {
    const tab = window.open('', '_blank');
    try {
      const session = await send<{ url: string }>('POST', '/v1/dashboard/sessions', { tenantId, ttlMinutes: 30 });
      if (tab) tab.location.href = session!.url;
      else location.assign(session!.url);
    } catch (err) {
      tab?.close();
      setError(err as Error);
    }
  };
  return (
    <Page title="Operator console">
      {error && <ErrorBox error={error} />}
      <Load state={state} what="the console">
        {(c) => (
          <>
            <div class="cards">
              <article class="card">
                <h2>Projected revenue this period</h2>
                {Object.keys(c.projectedRevenue).length === 0 ? (
                  <p class="muted">No active subscriptions.</p>
                ) : (
                  Object.entries(c.projectedRevenue).map(([currency, amount]) => (
                    <p class="quantity" data-testid="projected-revenue" data-value={amount}>
                      {money(amount, currency)}
                    </p>
                  ))
                )}
                <p class="muted">Before tax, as of {dateTime(c.asOf)}</p>
              </article>
              <article class="card">
                <h2>Invoices by status</h2>
                <table>
                  <tbody>
                    {Object.entries(c.invoicesByStatus).map(([status, s]) => (
                      <tr data-status={status}>
                        <th scope="row">{status}</th>
                        <td class="num">{s.count}</td>
                        <td class="num">
                          {Object.entries(s.totals)
                            .map(([cur, total]) => money(total, cur))
                            .join(', ')}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </article>
              <article class="card">
                <h2>Reconciliation mismatches</h2>
                {c.reconciliationMismatches.length === 0 ? (
                  <p class="muted">None: what Stripe bills matches Meterline's usage.</p>
                ) : (
                  <ul>
                    {c.reconciliationMismatches.map((m) => (
                      <li>
                        <strong>{m.tenantId}</strong>: {m.subject} ({dateTime(m.raisedAt)})
                      </li>
                    ))}
                  </ul>
                )}
              </article>
              <article class="card" data-testid="silent-tenants">
                <h2>Silent tenants</h2>
                {c.silentTenants.length === 0 ? (
                  <p class="muted">None: every tenant with a silence rule is reporting.</p>
                ) : (
                  <ul>
                    {c.silentTenants.map((s) => (
                      <li data-silent={s.tenantId}>
                        <strong>{s.tenantId}</strong>: {s.meter === '*' ? 'no meter' : s.meter} has reported nothing since{' '}
                        {dateTime(s.since)} (expected every {s.expectedGapMinutes} minutes)
                      </li>
                    ))}
                  </ul>
                )}
              </article>
              <QuarantineCard />
            </div>
            <SimulationsCard />
            <h2>Tenants</h2>
            {c.tenants.length === 0 ? (
              <Empty>No tenants yet.</Empty>
            ) : (
              <div class="table-scroll">
                <table class="list">
                  <thead>
                    <tr>
                      <th scope="col">Tenant</th>
                      <th scope="col">Plan</th>
                      <th scope="col">Period</th>
                      <th scope="col">Usage</th>
                      <th scope="col" class="num">
                        Projected
                      </th>
                      <th scope="col">Invoices</th>
                      <th scope="col">
                        <span class="sr-only">Open</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {c.tenants.map((t) => (
                      <tr data-tenant={t.id}>
                        <th scope="row">
                          {t.name}
                          <br />
                          <small class="muted">{t.id}</small>
                        </th>
                        <td>{t.plan?.name ?? 'no plan'}</td>
                        <td>
                          {t.period
                            ? `${day(t.period.start, t.timeZone)} – ${lastDay(t.period.end, t.timeZone)} (${t.timeZone ?? 'UTC'})`
                            : '—'}
                        </td>
                        <td>
                          {t.meters?.length ? (
                            <ul class="plain">
                              {t.meters.map((m) => (
                                <li>
                                  {m.meter}: {withUnit(m.quantity, m.unit ?? m.meter)}
                                </li>
                              ))}
                            </ul>
                          ) : (
                            '—'
                          )}
                        </td>
                        <td class="num">{t.projectedCost && t.currency ? money(t.projectedCost, t.currency) : '—'}</td>
                        <td>
                          {Object.entries(t.invoices)
                            .filter(([, n]) => n > 0)
                            .map(([s, n]) => `${n} ${s}`)
                            .join(', ') || 'none'}
                        </td>
                        <td>
                          <button type="button" onClick={() => openTenant(t.id)} aria-label={`Open ${t.name}'s dashboard`}>
                            Open dashboard
                          </button>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </>
        )}
      </Load>
    </Page>
  );
}
