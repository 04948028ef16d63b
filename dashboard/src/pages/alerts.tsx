import { useState } from 'preact/hooks';
import { send } from '../api.js';
import { dateTime, money, withUnit } from '../format.js';
import { useApi } from '../hooks.js';
import type { Alert, Episode, Meter, Pricing } from '../types.js';
import { Empty, ErrorBox, FieldError, fieldErrorProps, Load, Page, refusesOneOf } from '../ui.js';

/** An alert's id, from its name: lowercase words joined by dashes, as the API accepts. */
function idFor(name: string): string {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50);
  return `${slug || 'alert'}-${Math.random().toString(36).slice(2, 8)}`;
}

type Kind = Alert['kind'];
const kinds: [Kind, string][] = [
  ['quantity', 'Usage reaches a quantity'],
  ['percent', 'Usage reaches a share of a quota'],
  ['spend', 'Cost reaches an amount'],
  ['balance', 'Prepaid credit falls to an amount'],
  ['anomaly', 'Usage leaves its usual range'],
  ['silence', 'Usage stops'],
];
const watchesShape = (kind: Kind) => kind === 'anomaly' || kind === 'silence';
/** Rules on money, which watch no meter. */
const moneyRule = (kind: Kind) => kind === 'spend' || kind === 'balance';
/** The form's typed inputs of a kind, by the API's field names: a refusal naming one is shown under it. */
const typedFields: Record<Kind, string[]> = {
  quantity: ['name', 'threshold'],
  percent: ['name', 'percent'],
  spend: ['name', 'amount'],
  balance: ['name', 'below'],
  anomaly: ['name'],
  silence: ['name', 'afterMinutes'],
};

interface FormState {
  kind: Kind;
  name: string;
  meter: string;
  threshold: string;
  of: 'included' | 'quota';
  percent: string;
  basis: 'current' | 'projected';
  amount: string;
  /** Balance: the credit left at which it fires. */
  below: string;
  sensitivity: 'low' | 'medium' | 'high';
  /** Silence: minutes without events before it fires; blank learns the gap from history. */
  afterMinutes: string;
}

function initial(meters: Meter[], alert?: Alert): FormState {
  return {
    kind: alert?.kind ?? 'quantity',
    name: alert?.name ?? '',
    meter: alert && alert.kind !== 'spend' && alert.kind !== 'balance' ? (alert.meter ?? '') : (meters[0]?.key ?? ''),
    threshold: alert?.kind === 'quantity' ? alert.threshold : '',
    of: alert?.kind === 'percent' ? alert.of : 'included',
    percent: alert?.kind === 'percent' ? alert.percent : '80',
    basis: alert?.kind === 'spend' ? alert.basis : 'current',
    amount: alert?.kind === 'spend' ? alert.amount : '',
    below: alert?.kind === 'balance' ? alert.below : '',
    sensitivity: alert?.kind === 'anomaly' ? alert.sensitivity : 'medium',
    afterMinutes: alert?.kind === 'silence' && alert.afterMinutes !== undefined ? String(alert.afterMinutes) : '',
  };
}

/** The rule as the API takes it: only the fields of its kind. */
function definition(f: FormState) {
  const name = f.name ? { name: f.name } : {};
  if (f.kind === 'quantity') return { kind: f.kind, meter: f.meter, threshold: f.threshold.trim(), ...name };
  if (f.kind === 'percent') return { kind: f.kind, meter: f.meter, of: f.of, percent: f.percent.trim(), ...name };
  if (f.kind === 'balance') return { kind: f.kind, below: f.below.trim(), ...name };
  // An empty meter watches every meter of the tenant.
  const meter = f.meter ? { meter: f.meter } : {};
  if (f.kind === 'anomaly') return { kind: f.kind, ...meter, sensitivity: f.sensitivity, ...name };
  if (f.kind === 'silence') return { kind: f.kind, ...meter, ...(f.afterMinutes ? { afterMinutes: Number(f.afterMinutes) } : {}), ...name };
  return { kind: f.kind, basis: f.basis, amount: f.amount.trim(), ...name };
}

function AlertForm({ meters, alert, done }: { meters: Meter[]; alert?: Alert; done: () => void }) {
  const [form, setForm] = useState(initial(meters, alert));
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const set = (patch: Partial<FormState>) => setForm({ ...form, ...patch });
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const id = alert?.id ?? idFor(form.name || (moneyRule(form.kind) ? form.kind : form.meter || form.kind));
      await send('PUT', `/v1/alerts/${id}`, definition(form));
      done();
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  const prefix = alert ? `edit-${alert.id}` : 'new';
  const decimal = (field: string, label: string, value: string, onInput: (v: string) => void) => (
    <>
      <label for={`${prefix}-${field}`}>{label}</label>
      <input
        id={`${prefix}-${field}`}
        required
        inputMode="decimal"
        pattern="\d+(\.\d+)?"
        value={value}
        onInput={(e) => onInput(e.currentTarget.value)}
        {...fieldErrorProps(error, field, `${prefix}-${field}`)}
      />
      <FieldError error={error} field={field} id={`${prefix}-${field}`} />
    </>
  );
  const shownAtField = refusesOneOf(error, typedFields[form.kind]);
  return (
    <form class="alert-form" onSubmit={submit} aria-label={alert ? `Edit ${alert.name ?? alert.id}` : 'New alert'}>
      <label for={`${prefix}-name`}>Name</label>
      <input
        id={`${prefix}-name`}
        value={form.name}
        maxLength={100}
        onInput={(e) => set({ name: e.currentTarget.value })}
        {...fieldErrorProps(error, 'name', `${prefix}-name`)}
      />
      <FieldError error={error} field="name" id={`${prefix}-name`} />
      <label for={`${prefix}-kind`}>When</label>
      <select
        id={`${prefix}-kind`}
        value={form.kind}
        disabled={Boolean(alert)}
        onChange={(e) => {
          const kind = e.currentTarget.value as Kind;
          // Threshold rules need a meter; anomaly and silence rules start out watching all of them.
          set({ kind, meter: watchesShape(kind) ? '' : form.meter || (meters[0]?.key ?? '') });
        }}
      >
        {kinds.map(([k, label]) => (
          <option value={k}>{label}</option>
        ))}
      </select>
      {!moneyRule(form.kind) && (
        <>
          <label for={`${prefix}-meter`}>Meter</label>
          <select
            id={`${prefix}-meter`}
            value={form.meter}
            disabled={Boolean(alert)}
            onChange={(e) => set({ meter: e.currentTarget.value })}
          >
            {watchesShape(form.kind) && <option value="">All meters</option>}
            {meters.map((m) => (
              <option value={m.key}>{m.name}</option>
            ))}
          </select>
        </>
      )}
      {form.kind === 'anomaly' && (
        <>
          <label for={`${prefix}-sensitivity`}>Sensitivity</label>
          <select
            id={`${prefix}-sensitivity`}
            value={form.sensitivity}
            onChange={(e) => set({ sensitivity: e.currentTarget.value as FormState['sensitivity'] })}
          >
            <option value="low">low: only large departures</option>
            <option value="medium">medium</option>
            <option value="high">high: smaller departures too</option>
          </select>
        </>
      )}
      {form.kind === 'silence' && (
        <>
          <label for={`${prefix}-afterMinutes`}>Silent for (minutes)</label>
          <input
            id={`${prefix}-afterMinutes`}
            inputMode="numeric"
            pattern="\d+"
            placeholder="learned from history"
            value={form.afterMinutes}
            onInput={(e) => set({ afterMinutes: e.currentTarget.value })}
            {...fieldErrorProps(error, 'afterMinutes', `${prefix}-afterMinutes`)}
          />
          <FieldError error={error} field="afterMinutes" id={`${prefix}-afterMinutes`} />
        </>
      )}
      {form.kind === 'quantity' && decimal('threshold', 'Threshold this period', form.threshold, (threshold) => set({ threshold }))}
      {form.kind === 'percent' && (
        <>
          {decimal('percent', 'Percent', form.percent, (percent) => set({ percent }))}
          <label for={`${prefix}-of`}>Of</label>
          <select id={`${prefix}-of`} value={form.of} onChange={(e) => set({ of: e.currentTarget.value as FormState['of'] })}>
            <option value="included">the plan's included quantity</option>
            <option value="quota">the hard quota</option>
          </select>
        </>
      )}
      {form.kind === 'spend' && (
        <>
          {decimal('amount', 'Amount', form.amount, (amount) => set({ amount }))}
          <label for={`${prefix}-basis`}>Cost</label>
          <select id={`${prefix}-basis`} value={form.basis} onChange={(e) => set({ basis: e.currentTarget.value as FormState['basis'] })}>
            <option value="current">so far this period</option>
            <option value="projected">projected for the period's end</option>
          </select>
        </>
      )}
      {form.kind === 'balance' && decimal('below', 'Credit left', form.below, (below) => set({ below }))}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {alert ? 'Save' : 'Create alert'}
        </button>
        {alert && (
          <button type="button" onClick={done}>
            Cancel
          </button>
        )}
      </div>
      {error && !shownAtField && <ErrorBox error={error} />}
    </form>
  );
}

/** What a rule watches, in words. */
function condition(alert: Alert, meterName: (key: string) => string, unitOf: (key: string) => string, currency: string): string {
  if (alert.kind === 'quantity') return `${meterName(alert.meter)} reaches ${withUnit(alert.threshold, unitOf(alert.meter))}`;
  if (alert.kind === 'percent') {
    const of = alert.of === 'included' ? "the plan's included quantity" : 'the hard quota';
    return `${meterName(alert.meter)} reaches ${alert.percent}% of ${of}`;
  }
  if (alert.kind === 'spend')
    return `${alert.basis === 'current' ? 'Cost so far' : 'Projected cost'} reaches ${money(alert.amount, currency)}`;
  if (alert.kind === 'balance') return `Prepaid credit falls to ${money(alert.below, currency)} or less`;
  const watched = alert.meter ? meterName(alert.meter) : 'Any meter';
  if (alert.kind === 'anomaly') return `${watched} leaves its usual range (${alert.sensitivity} sensitivity)`;
  const gap = alert.afterMinutes === undefined ? 'longer than its history says is normal' : `${alert.afterMinutes} minutes`;
  return `${alert.meter ? meterName(alert.meter) : 'All meters together'} report nothing for ${gap}`;
}

/** A small chart of an episode: the expected range as a band, the observed values as a line over it. */
function EpisodeChart({ episode, unit }: { episode: Episode; unit: string }) {
  const points = episode.points.filter((p) => p.low !== undefined && p.high !== undefined);
  if (points.length === 0) return null;
  const W = 240;
  const H = 60;
  const top = Math.max(...points.flatMap((p) => [Number(p.value), Number(p.high)]), 1);
  const x = (i: number) => (points.length === 1 ? W / 2 : (i / (points.length - 1)) * (W - 8) + 4);
  const y = (v: string | undefined) => H - 4 - (Number(v) / top) * (H - 8);
  const band = [...points.map((p, i) => `${x(i)},${y(p.high)}`), ...points.map((p, i) => `${x(i)},${y(p.low)}`).reverse()].join(' ');
  const line = points.map((p, i) => `${x(i)},${y(p.value)}`).join(' ');
  const label = points.map((p) => `${dateTime(p.at)}: ${withUnit(p.value, unit)} (expected ${p.low}–${p.high})`).join('; ');
  return (
    <svg class="episode-chart" viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label={label}>
      <polygon points={band} class="expected" />
      <polyline points={line} class="observed" />
      {points.map((p, i) => (
        <circle cx={x(i)} cy={y(p.value)} r={2.5} class="observed" />
      ))}
    </svg>
  );
}

function Episodes({
  episodes,
  unitOf,
  meterName,
}: {
  episodes: Episode[];
  unitOf: (key: string) => string;
  meterName: (key: string) => string;
}) {
  if (episodes.length === 0) return <p class="muted">No episodes yet.</p>;
  return (
    <ul class="episodes">
      {episodes.slice(0, 5).map((e) => (
        <li data-episode={e.start}>
          {e.window === 'silence' ? (
            <p>
              {e.meter === '*' ? 'All meters' : meterName(e.meter)} silent since {dateTime(e.start)} (expected every {e.expectedGapMinutes}{' '}
              minutes{e.learned ? ', learned' : ''}){e.resolvedAt ? `; resumed ${dateTime(e.resolvedAt)}` : '; still silent'}
            </p>
          ) : (
            <>
              <p>
                {meterName(e.meter)}: {e.direction} in the {e.window} from {dateTime(e.start)},{' '}
                {withUnit(e.observed ?? '0', unitOf(e.meter))} where {e.low}–{e.high} was expected
                {e.resolvedAt ? `; back in range ${dateTime(e.resolvedAt)}` : '; still out of range'}
              </p>
              <EpisodeChart episode={e} unit={unitOf(e.meter)} />
            </>
          )}
        </li>
      ))}
    </ul>
  );
}

export function Alerts() {
  const alerts = useApi<{ alerts: Alert[] }>('/v1/alerts');
  const meters = useApi<{ meters: Meter[] }>('/v1/meters');
  const pricing = useApi<Pricing>('/v1/pricing');
  const [editing, setEditing] = useState<string>();
  const [created, setCreated] = useState(0);
  const [error, setError] = useState<Error>();
  const remove = async (a: Alert) => {
    if (!confirm(`Delete the alert "${a.name ?? a.id}"?`)) return;
    try {
      await send('DELETE', `/v1/alerts/${a.id}`);
      alerts.reload();
    } catch (err) {
      setError(err as Error);
    }
  };
  const currency = pricing.data?.plan?.currency ?? 'USD';
  return (
    <Page title="Alerts">
      <p class="muted">
        A threshold alert fires once per billing period when usage or cost reaches its level; an anomaly or silence alert fires once per
        episode, when usage leaves the range its own history expects or stops. Your product hears of it through Meterline's webhooks and
        events.
      </p>
      {error && <ErrorBox error={error} />}
      <Load state={meters} what="meters">
        {({ meters: list }) => (
          <Load state={alerts} what="alerts">
            {(a) => {
              const meterName = (key: string) => list.find((m) => m.key === key)?.name ?? key;
              const unitOf = (key: string) => list.find((m) => m.key === key)?.unit ?? 'unit';
              const fired = (alert: Alert, value: string) =>
                moneyRule(alert.kind) ? money(value, currency) : withUnit(value, unitOf('meter' in alert ? (alert.meter ?? '') : ''));
              return (
                <>
                  {a.alerts.length === 0 ? (
                    <Empty>No alerts yet. Create one below to hear when usage or cost reaches a level.</Empty>
                  ) : (
                    <ul class="alerts">
                      {a.alerts.map((alert) => (
                        <li class="card" data-alert={alert.id}>
                          {editing === alert.id ? (
                            <AlertForm
                              meters={list}
                              alert={alert}
                              done={() => {
                                setEditing(undefined);
                                alerts.reload();
                              }}
                            />
                          ) : (
                            <>
                              <h2>{alert.name ?? alert.id}</h2>
                              <p>{condition(alert, meterName, unitOf, currency)}</p>
                              {alert.episodes ? (
                                <Episodes episodes={alert.episodes} unitOf={unitOf} meterName={meterName} />
                              ) : (
                                <p class="muted">
                                  {alert.firing
                                    ? `Fired ${dateTime(alert.firing.firedAt)} at ${fired(alert, alert.firing.value)}`
                                    : 'Not fired this period'}
                                </p>
                              )}
                              <div class="actions">
                                <button type="button" onClick={() => setEditing(alert.id)}>
                                  Edit
                                </button>
                                <button
                                  type="button"
                                  class="danger"
                                  onClick={() => remove(alert)}
                                  aria-label={`Delete ${alert.name ?? alert.id}`}
                                >
                                  Delete
                                </button>
                              </div>
                            </>
                          )}
                        </li>
                      ))}
                    </ul>
                  )}
                  <h2>New alert</h2>
                  <AlertForm
                    key={created}
                    meters={list}
                    done={() => {
                      setCreated((n) => n + 1);
                      alerts.reload();
                    }}
                  />
                </>
              );
            }}
          </Load>
        )}
      </Load>
    </Page>
  );
}
