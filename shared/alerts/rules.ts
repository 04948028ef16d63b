import { z } from 'zod';
import { Dec } from '../kernel/decimal.js';
import { meterKeySchema } from '../metering/meters.js';

/**
 * Usage alerts: a tenant asks to hear when a meter's value for the current period reaches a threshold.
 * Each alert fires at most once per period; the evaluator records the crossing before it notifies,
 * and notifies again only if that notification is not known to have gone out.
 */
export const alertIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be 1-63 lowercase letters, digits, dashes or underscores');

export const alertDefinitionSchema = z.strictObject({
  meter: meterKeySchema,
  threshold: z
    .union([z.number(), z.string()])
    .transform((v) => String(v))
    .refine((v) => /^\d+(\.\d+)?$/.test(v) && new Dec(v).greaterThan(0), 'must be a positive decimal number'),
  name: z.string().min(1).max(100).optional(),
});

export interface Alert {
  id: string;
  tenantId: string;
  meter: string;
  /** Decimal string, in the meter's unit. */
  threshold: string;
  name?: string;
  createdAt: string;
}

/** A period in which an alert's threshold was reached. `notifiedAt` is unset until the notification went out. */
export interface AlertFiring {
  alertId: string;
  period: string;
  value: string;
  firedAt: string;
  notifiedAt?: string;
}

/** The alerts whose meter has reached the threshold, with the value that reached it. */
export function crossedAlerts(alerts: readonly Alert[], usage: ReadonlyMap<string, string>): { alert: Alert; value: string }[] {
  return alerts.flatMap((alert) => {
    const value = usage.get(alert.meter);
    return value !== undefined && new Dec(value).greaterThanOrEqualTo(alert.threshold) ? [{ alert, value }] : [];
  });
}

/** What the event bus carries when an alert fires; `id` lets subscribers drop a repeated notification. */
export interface AlertNotification {
  id: string;
  tenantId: string;
  alertId: string;
  name?: string;
  meter: string;
  threshold: string;
  value: string;
  period: string;
}

export function notificationOf(alert: Alert, firing: AlertFiring): AlertNotification {
  return {
    id: `${alert.tenantId}:${alert.id}:${firing.period}`,
    tenantId: alert.tenantId,
    alertId: alert.id,
    ...(alert.name ? { name: alert.name } : {}),
    meter: alert.meter,
    threshold: alert.threshold,
    value: firing.value,
    period: firing.period,
  };
}
