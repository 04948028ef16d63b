import type { AlertStore } from '../../shared/alerts/ports.js';
import { type Alert, alertDefinitionSchema, alertIdSchema } from '../../shared/alerts/rules.js';
import { ClientError } from '../../shared/kernel/errors.js';
import { calendarMonth, periodKey, toIso } from '../../shared/kernel/periods.js';
import type { Meter } from '../../shared/metering/meters.js';
import { httpApi, json, jsonBody, parseInput, routes } from '../../shared/platform/http.js';
import { requireTenant } from '../../shared/tenancy/access.js';

export interface AlertsDependencies {
  meters(tenantId: string): Promise<Meter[]>;
  alerts: Pick<AlertStore, 'putAlert' | 'listAlerts' | 'deleteAlert' | 'firings'>;
  /** Epoch milliseconds. */
  now(): number;
}

/** A tenant's usage alerts, and whether each has fired this period. */
export function createAlertsApi(deps: AlertsDependencies) {
  return httpApi(
    routes({
      'GET /v1/alerts': async (event) => {
        const tenantId = requireTenant(event);
        const period = calendarMonth(deps.now());
        const key = periodKey('month', period.start);
        const [alerts, firings] = await Promise.all([deps.alerts.listAlerts(tenantId), deps.alerts.firings(tenantId, key)]);
        return json(200, {
          period: { start: toIso(period.start), end: toIso(period.end) },
          alerts: alerts.map(({ tenantId: _t, ...a }) => ({ ...a, firing: firings.get(a.id) ?? null })),
        });
      },
      'PUT /v1/alerts/{alertId}': async (event) => {
        const tenantId = requireTenant(event);
        const id = parseInput(alertIdSchema, event.pathParameters?.alertId, 'alertId');
        const definition = parseInput(alertDefinitionSchema, jsonBody(event));
        if (!(await deps.meters(tenantId)).some((m) => m.key === definition.meter)) {
          throw new ClientError('NOT_FOUND', `meter "${definition.meter}" is not defined for this tenant`, 'meter');
        }
        const existing = (await deps.alerts.listAlerts(tenantId)).find((a) => a.id === id);
        const alert: Alert = { id, tenantId, ...definition, createdAt: existing?.createdAt ?? new Date(deps.now()).toISOString() };
        await deps.alerts.putAlert(alert);
        const { tenantId: _t, ...body } = alert;
        return json(existing ? 200 : 201, body);
      },
      'DELETE /v1/alerts/{alertId}': async (event) => {
        const tenantId = requireTenant(event);
        const id = event.pathParameters?.alertId ?? '';
        if (!(await deps.alerts.deleteAlert(tenantId, id))) throw new ClientError('NOT_FOUND', `alert "${id}" does not exist`, 'alertId');
        return { statusCode: 204 };
      },
    }),
  );
}
