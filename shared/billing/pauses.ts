import * as z from 'zod';

/**
 * Pausing billing: an admin switch, per tenant or for every tenant at once, that stops the invoice job
 * and the Stripe usage report while metering goes on (events are still taken and counted). Nothing is
 * lost while paused: both jobs work from the counters and their own exactly-once records, so a resume
 * lets them catch up on what they skipped, once (the invoice job closes the missed periods, each with
 * its gap-free number; the report sends the missed days still inside Stripe's window).
 */
export const ALL_TENANTS = '*';

export interface BillingPause {
  /** A tenant id, or `*` for every tenant. */
  scope: string;
  reason: string;
  pausedAt: string;
}

export const pauseRequestSchema = z.strictObject({ reason: z.string().min(1).max(500) });

/** Whether billing is paused for `tenantId` under `pauses`: its own pause or the global one. */
export function billingPaused(pauses: readonly BillingPause[], tenantId: string): boolean {
  return pauses.some((p) => p.scope === ALL_TENANTS || p.scope === tenantId);
}
