import { useState } from 'preact/hooks';
import { send } from '../api.js';
import { dateTime, withUnit } from '../format.js';
import { useApi } from '../hooks.js';
import type { Alert, Meter } from '../types.js';
import { Empty, ErrorBox, Load, Page } from '../ui.js';

/** An alert's id, from its name: lowercase words joined by dashes, as the API accepts. */
function idFor(name: string): string {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50);
  return `${slug || 'alert'}-${Math.random().toString(36).slice(2, 8)}`;
}

function AlertForm({ meters, alert, done }: { meters: Meter[]; alert?: Alert; done: () => void }) {
  const [form, setForm] = useState({
    name: alert?.name ?? '',
    meter: alert?.meter ?? meters[0]?.key ?? '',
    threshold: alert?.threshold ?? '',
  });
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      const id = alert?.id ?? idFor(form.name || form.meter);
      await send('PUT', `/v1/alerts/${id}`, {
        meter: form.meter,
        threshold: form.threshold.trim(),
        ...(form.name ? { name: form.name } : {}),
      });
      done();
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  const prefix = alert ? `edit-${alert.id}` : 'new';
  return (
    <form class="alert-form" onSubmit={submit} aria-label={alert ? `Edit ${alert.name ?? alert.id}` : 'New alert'}>
      <label for={`${prefix}-name`}>Name</label>
      <input id={`${prefix}-name`} value={form.name} maxLength={100} onInput={(e) => setForm({ ...form, name: e.currentTarget.value })} />
      <label for={`${prefix}-meter`}>Meter</label>
      <select
        id={`${prefix}-meter`}
        value={form.meter}
        disabled={Boolean(alert)}
        onChange={(e) => setForm({ ...form, meter: e.currentTarget.value })}
      >
        {meters.map((m) => (
          <option value={m.key}>{m.name}</option>
        ))}
      </select>
      <label for={`${prefix}-threshold`}>Threshold this period</label>
      <input
        id={`${prefix}-threshold`}
        required
        inputMode="decimal"
        pattern="\d+(\.\d+)?"
        value={form.threshold}
        onInput={(e) => setForm({ ...form, threshold: e.currentTarget.value })}
      />
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
      {error && <ErrorBox error={error} />}
    </form>
  );
}

export function Alerts() {
  const alerts = useApi<{ alerts: Alert[] }>('/v1/alerts');
  const meters = useApi<{ meters: Meter[] }>('/v1/meters');
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
  return (
    <Page title="Alerts">
      <p class="muted">
        An alert fires once per period when a meter reaches its threshold; your product hears of it through Meterline's events.
      </p>
      {error && <ErrorBox error={error} />}
      <Load state={meters} what="meters">
        {({ meters: list }) => (
          <Load state={alerts} what="alerts">
            {(a) => {
              const unitOf = (key: string) => list.find((m) => m.key === key)?.unit ?? 'unit';
              return (
                <>
                  {a.alerts.length === 0 ? (
                    <Empty>No alerts yet. Create one below to hear when a meter reaches a level.</Empty>
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
                              <p>
                                {list.find((m) => m.key === alert.meter)?.name ?? alert.meter} reaches{' '}
                                {withUnit(alert.threshold, unitOf(alert.meter))}
                              </p>
                              <p class="muted">
                                {alert.firing
                                  ? `Fired ${dateTime(alert.firing.firedAt)} at ${withUnit(alert.firing.value, unitOf(alert.meter))}`
                                  : 'Not fired this period'}
                              </p>
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
