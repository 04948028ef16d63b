import { useEffect, useMemo, useState } from 'preact/hooks';
import { openDocument, send } from '../api.js';
import { Chart, type Series } from '../chart.js';
import { dateTime, money } from '../format.js';
import { useApi } from '../hooks.js';
import type { FleetSimulationJob, FleetSummary, Plans, TenantChange } from '../types.js';
import { ErrorBox, FieldError, fieldErrorProps, Load, refusesOneOf } from '../ui.js';

/** The job this browser started last, opened again when the console is. */
const LATEST = 'meterline.simulation';
/** How often a queued or running job is read again. */
const POLL_MS = 2_000;
const PERCENTILES = ['p10', 'p25', 'p50', 'p75', 'p90'] as const;

function Changes({ title, changes, currency, testId }: { title: string; changes: TenantChange[]; currency: string; testId: string }) {
  return (
    <div class="table-scroll">
      <table class="list" data-testid={testId}>
        <caption>{title}</caption>
        <thead>
          <tr>
            <th scope="col">Tenant</th>
            <th scope="col" class="num">
              Invoiced
            </th>
            <th scope="col" class="num">
              Simulated
            </th>
            <th scope="col" class="num">
              Change
            </th>
          </tr>
        </thead>
        <tbody>
          {changes.length === 0 ? (
            <tr>
              <td colSpan={4} class="muted">
                None
              </td>
            </tr>
          ) : (
            changes.map((c) => (
              <tr data-tenant={c.tenantId}>
                <th scope="row">{c.tenantId}</th>
                <td class="num">{money(c.issued, currency)}</td>
                <td class="num">{money(c.simulated, currency)}</td>
                <td class="num" data-value={c.difference}>
                  {money(c.difference, currency)}
                  {c.percent !== null && <span class="muted"> ({c.percent}%)</span>}
                </td>
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}

/** A finished simulation: revenue per period as a chart and a table, how the bills move, the largest changes. */
function Summary({ job, result }: { job: FleetSimulationJob; result: FleetSummary }) {
  const { currency, revenue, distribution } = result;
  // Periods are calendar months ("2026-11") of the periods' starts, in UTC.
  const times = useMemo(() => revenue.map((r) => Date.parse(`${r.period}-01T00:00:00Z`)), [revenue]);
  const series = useMemo<Series[]>(
    () => [
      { label: 'Invoiced', values: revenue.map((r) => r.issued) },
      { label: 'Simulated', values: revenue.map((r) => r.simulated) },
    ],
    [revenue],
  );
  const parts = Array.from({ length: job.csvParts ?? 1 }, (_, i) => i + 1);
  return (
    <div data-testid="simulation-result">
      <Chart
        times={times}
        series={series}
        unit={currency}
        title="Revenue per period, invoiced and simulated"
        timeZone="UTC"
        granularity="month"
      />
      <div class="table-scroll">
        <table class="list" data-testid="simulation-revenue">
          <caption>Revenue per period</caption>
          <thead>
            <tr>
              <th scope="col">Period</th>
              <th scope="col" class="num">
                Tenants
              </th>
              <th scope="col" class="num">
                Invoiced
              </th>
              <th scope="col" class="num">
                Simulated
              </th>
              <th scope="col" class="num">
                Change
              </th>
            </tr>
          </thead>
          <tbody>
            {revenue.map((r) => (
              <tr data-period={r.period}>
                <th scope="row">{r.period}</th>
                <td class="num">{r.tenants}</td>
                <td class="num" data-value={r.issued}>
                  {money(r.issued, currency)}
                </td>
                <td class="num" data-value={r.simulated}>
                  {money(r.simulated, currency)}
                </td>
                <td class="num" data-value={r.difference}>
                  {money(r.difference, currency)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p data-testid="simulation-distribution">
        <strong data-more={distribution.more}>{distribution.more} pay more</strong>,{' '}
        <strong data-less={distribution.less}>{distribution.less} pay less</strong>, {distribution.same} the same
        {result.skipped > 0 && ` (${result.skipped} left out: another currency or interval)`}.
      </p>
      <dl class="facts" data-testid="simulation-percentiles">
        {PERCENTILES.map((p) => (
          <>
            <dt>{p} of the change</dt>
            <dd data-value={distribution.percentiles[p]}>{money(distribution.percentiles[p], currency)}</dd>
          </>
        ))}
      </dl>
      <Changes title="Largest increases" changes={result.largestIncreases} currency={currency} testId="simulation-increases" />
      <Changes title="Largest decreases" changes={result.largestDecreases} currency={currency} testId="simulation-decreases" />
      {result.crossingsTotal > 0 && (
        <p class="muted">
          {result.crossingsTotal} tenant periods would cross an alert threshold of an included quota (in the CSV and the API).
        </p>
      )}
      <p class="actions">
        {parts.map((part) => (
          <button
            type="button"
            onClick={() =>
              void openDocument(
                `/v1/admin/simulations/${job.jobId}/csv?part=${part}`,
                parts.length === 1 ? `simulation-${job.jobId}.csv` : `simulation-${job.jobId}-${part}-of-${parts.length}.csv`,
              )
            }
          >
            Download CSV{parts.length > 1 ? ` part ${part}` : ''}
          </button>
        ))}
      </p>
    </div>
  );
}

/** One job: its progress, read again while it runs, then its summary. */
function Job({ jobId }: { jobId: string }) {
  const state = useApi<FleetSimulationJob>(`/v1/admin/simulations/${encodeURIComponent(jobId)}`);
  const status = state.data?.status;
  useEffect(() => {
    if (status !== 'queued' && status !== 'running') return;
    const timer = setTimeout(state.reload, POLL_MS);
    return () => clearTimeout(timer);
  }, [state.data, state.reload]);
  return (
    <Load state={state} what="the simulation">
      {(job) => (
        <>
          <p data-testid="simulation-status" data-status={job.status}>
            <strong>{job.candidate.name}</strong> ({job.candidate.id}
            {job.candidate.version ? ` v${job.candidate.version}` : ''}) over the last {job.periods} period(s), started{' '}
            {dateTime(job.createdAt)}: {job.status}
            {job.status === 'queued' || job.status === 'running'
              ? ` · ${job.progress.tenants} of ${job.progress.subscriptions || '?'} subscriptions priced`
              : ''}
          </p>
          {job.status === 'failed' && <p class="error">{job.error}</p>}
          {job.result && <Summary job={job} result={job.result} />}
        </>
      )}
    </Load>
  );
}

/**
 * A price change tried on the whole fleet: a plan's version re-prices every subscribed tenant's last invoiced periods
 * as a job (POST /v1/admin/simulations), which the console follows to its result.
 */
export function SimulationsCard() {
  const plans = useApi<Plans>('/v1/admin/plans');
  const [jobId, setJobId] = useState(() => localStorage.getItem(LATEST) ?? undefined);
  const [planId, setPlanId] = useState('');
  const [version, setVersion] = useState('');
  const [periods, setPeriods] = useState('3');
  const [error, setError] = useState<Error>();
  const start = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    try {
      const chosen = planId || plans.data?.plans[0]?.id;
      const job = await send<FleetSimulationJob>('POST', '/v1/admin/simulations', {
        planId: chosen,
        periods: Number(periods),
        ...(version ? { version: Number(version) } : {}),
      });
      localStorage.setItem(LATEST, job!.jobId);
      setJobId(job!.jobId);
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <article class="card" data-testid="simulations">
      <h2>Price simulations</h2>
      <Load state={plans} what="plans">
        {({ plans: list }) => (
          <form class="controls" onSubmit={start}>
            <label>
              Plan
              <select value={planId || list[0]?.id} onChange={(e) => setPlanId(e.currentTarget.value)} name="plan">
                {list.map((p) => (
                  <option value={p.id}>
                    {p.name} ({p.id}, version {p.version ?? 1} in effect)
                  </option>
                ))}
              </select>
            </label>
            <label>
              Version
              <input
                type="number"
                min="1"
                name="version"
                placeholder="in effect"
                value={version}
                onInput={(e) => setVersion(e.currentTarget.value)}
                {...fieldErrorProps(error, 'version', 'simulation-version')}
              />
            </label>
            <FieldError error={error} field="version" id="simulation-version" />
            <label>
              Periods
              <input
                type="number"
                min="1"
                name="periods"
                value={periods}
                onInput={(e) => setPeriods(e.currentTarget.value)}
                {...fieldErrorProps(error, 'periods', 'simulation-periods')}
              />
            </label>
            <FieldError error={error} field="periods" id="simulation-periods" />
            <button type="submit" class="primary">
              Simulate on every tenant
            </button>
          </form>
        )}
      </Load>
      {error && !refusesOneOf(error, ['version', 'periods']) && <ErrorBox error={error} />}
      {jobId ? <Job key={jobId} jobId={jobId} /> : <p class="muted">No simulation started from this browser yet.</p>}
    </article>
  );
}
