import { useMemo, useState } from 'preact/hooks';
import { Chart } from '../chart.js';
import { add } from '../decimal.js';
import { withUnit, zoneMidnight, zoneToday } from '../format.js';
import { useApi } from '../hooks.js';
import type { Meter, Pricing, UsageSeries } from '../types.js';
import { Empty, Load, Page } from '../ui.js';

type Bucket = UsageSeries['data'][number];

const DAY = 86_400_000;
/** The API answers at most 1,000 buckets: about 41 days of hours. */
const MAX_HOURS = 1_000;

/**
 * Adds the buckets of an additive meter: sums, counts, and time-weighted integrals (GB-hours add up; a `per: month`
 * meter's buckets are mean levels, which do not). Extremes, means and levels do not add up over time.
 */
function total(data: Bucket[], meter: Meter): string | undefined {
  const additive =
    meter.aggregation === 'SUM' || meter.aggregation === 'COUNT' || (meter.aggregation === 'TIME_WEIGHTED' && meter.per !== 'month');
  if (!additive) return undefined;
  return data.reduce((sum, b) => add(sum, b.value ?? '0'), '0');
}

function MeterChart({ meter, from, to, granularity }: { meter: Meter; from: string; to: string; granularity: string }) {
  const group = meter.groupBy[0];
  const query = new URLSearchParams({ meter: meter.key, granularity, from, to, ...(group ? { groupBy: group } : {}) });
  const state = useApi<UsageSeries>(`/v1/usage?${query}`);
  const times = useMemo(() => state.data?.data.map((b) => Date.parse(b.periodStart)) ?? [], [state.data]);
  const main = useMemo(
    () => (state.data ? [{ label: meter.name, values: state.data.data.map((b) => b.value) }] : []),
    [state.data, meter.name],
  );
  const groups = useMemo(
    () => state.data?.groups?.map((g) => ({ label: g.value || '(none)', values: g.data.map((b) => b.value) })) ?? [],
    [state.data],
  );
  return (
    <article class="card chart-card" data-meter={meter.key}>
      <h2>{meter.name}</h2>
      <Load state={state} what={`${meter.name} usage`}>
        {(u) => {
          const sum = total(u.data, meter);
          return (
            <>
              {sum !== undefined && <p class="muted">{withUnit(sum, u.unit)} in this range</p>}
              <Chart
                times={times}
                series={main}
                unit={u.unit}
                title={`${meter.name} per ${granularity}`}
                timeZone={u.timeZone}
                granularity={granularity}
              />
              <p class="muted zone">
                {granularity === 'day' ? 'Days' : 'Hours'} as in {u.timeZone}
              </p>
              {u.groups && (
                <>
                  <h3>By {u.groupBy}</h3>
                  {u.groups.length === 0 ? (
                    <Empty>No grouped usage in this range.</Empty>
                  ) : (
                    <>
                      <Chart
                        times={times}
                        series={groups}
                        unit={u.unit}
                        title={`${meter.name} per ${granularity} by ${u.groupBy}`}
                        timeZone={u.timeZone}
                        granularity={granularity}
                      />
                      <table class="groups">
                        <thead>
                          <tr>
                            <th scope="col">{u.groupBy}</th>
                            <th scope="col" class="num">
                              In this range
                            </th>
                          </tr>
                        </thead>
                        <tbody>
                          {u.groups.map((g) => (
                            <tr>
                              <th scope="row">{g.value || '(none)'}</th>
                              <td class="num">{withUnit(total(g.data, meter) ?? g.data.at(-1)?.value ?? null, u.unit)}</td>
                            </tr>
                          ))}
                        </tbody>
                      </table>
                    </>
                  )}
                </>
              )}
            </>
          );
        }}
      </Load>
    </article>
  );
}

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * A range of the tenant's local days: the API starts a range at the local midnight before `from`, so the last N days
 * are sent as instants; custom dates are turned into local midnights of the subscription's zone.
 */
export function Usage() {
  const meters = useApi<{ meters: Meter[] }>('/v1/meters');
  const pricing = useApi<Pricing>('/v1/pricing');
  const timeZone = pricing.data?.subscription.timeZone ?? 'UTC';
  const [range, setRange] = useState<'7' | '30' | '90' | 'custom'>('30');
  const [granularity, setGranularity] = useState<'hour' | 'day'>('day');
  const today = Date.parse(`${zoneToday(timeZone)}T00:00:00Z`);
  const [custom, setCustom] = useState<{ from?: string; to?: string }>({});
  const customFrom = custom.from ?? isoDay(today - 29 * DAY);
  const customTo = custom.to ?? isoDay(today);
  const [selected, setSelected] = useState('all');

  // To the minute, so that a render within it asks for the same series.
  const now = Math.floor(Date.now() / 60_000) * 60_000;
  const fromMs = range === 'custom' ? zoneMidnight(customFrom, timeZone) : now - (Number(range) - 1) * DAY;
  const toMs = range === 'custom' ? zoneMidnight(isoDay(Date.parse(`${customTo}T00:00:00Z`) + DAY), timeZone) : now + 60_000;
  const hoursTooMany = (toMs - fromMs) / 3_600_000 > MAX_HOURS;
  const shownGranularity = hoursTooMany ? 'day' : granularity;
  const valid = Number.isFinite(fromMs) && Number.isFinite(toMs) && fromMs < toMs;

  return (
    <Page title="Usage">
      <form class="controls" onSubmit={(e) => e.preventDefault()}>
        <fieldset>
          <legend>Range</legend>
          {(['7', '30', '90'] as const).map((r) => (
            <label>
              <input type="radio" name="range" value={r} checked={range === r} onChange={() => setRange(r)} /> {r} days
            </label>
          ))}
          <label>
            <input type="radio" name="range" value="custom" checked={range === 'custom'} onChange={() => setRange('custom')} /> Custom
          </label>
          {range === 'custom' && (
            <span class="dates">
              <label>
                From{' '}
                <input
                  type="date"
                  value={customFrom}
                  max={customTo}
                  onChange={(e) => setCustom({ from: e.currentTarget.value, to: customTo })}
                />
              </label>
              <label>
                To{' '}
                <input
                  type="date"
                  value={customTo}
                  min={customFrom}
                  onChange={(e) => setCustom({ from: customFrom, to: e.currentTarget.value })}
                />
              </label>
            </span>
          )}
        </fieldset>
        <fieldset>
          <legend>Per</legend>
          <label>
            <input
              type="radio"
              name="granularity"
              checked={shownGranularity === 'hour'}
              disabled={hoursTooMany}
              onChange={() => setGranularity('hour')}
            />{' '}
            hour
          </label>
          <label>
            <input type="radio" name="granularity" checked={shownGranularity === 'day'} onChange={() => setGranularity('day')} /> day
          </label>
          {hoursTooMany && <span class="muted"> (hours up to 41 days)</span>}
        </fieldset>
        <label class="meter-pick">
          Meter{' '}
          <select value={selected} onChange={(e) => setSelected(e.currentTarget.value)}>
            <option value="all">All meters</option>
            {meters.data?.meters.map((m) => (
              <option value={m.key}>{m.name}</option>
            ))}
          </select>
        </label>
      </form>
      <Load state={meters} what="meters">
        {({ meters: list }) =>
          !valid ? (
            <Empty>Pick a start date before the end date.</Empty>
          ) : list.length === 0 ? (
            <Empty>No meters are defined yet.</Empty>
          ) : (
            <div class="charts">
              {list
                .filter((m) => selected === 'all' || m.key === selected)
                .map((m) => (
                  <MeterChart
                    key={`${m.key}-${fromMs}-${toMs}-${shownGranularity}`}
                    meter={m}
                    from={new Date(fromMs).toISOString()}
                    to={new Date(toMs).toISOString()}
                    granularity={shownGranularity}
                  />
                ))}
            </div>
          )
        }
      </Load>
    </Page>
  );
}
