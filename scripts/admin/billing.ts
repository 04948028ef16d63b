import { readFileSync } from 'node:fs';
import { call } from './client.js';
import { type Command, need } from './command.js';

const enc = encodeURIComponent;

/** Plans, subscriptions, quotas and invoice statuses over the billing admin API. */
export const billingCommands: Command[] = [
  { name: 'plans list', usage: '', run: (_f, t) => call(t(), 'GET', '/v1/admin/plans') },
  { name: 'plans show', usage: '--plan <id>', run: (f, t) => call(t(), 'GET', `/v1/admin/plans/${enc(need(f, 'plan'))}`) },
  {
    name: 'plans put',
    usage: '--plan <id> --file plan.json   (name, currency, interval, baseFee, prices: see docs/billing.md)',
    run: (f, t) => call(t(), 'PUT', `/v1/admin/plans/${enc(need(f, 'plan'))}`, JSON.parse(readFileSync(need(f, 'file'), 'utf8'))),
  },
  {
    name: 'subscription show',
    usage: '--tenant <id>',
    run: (f, t) => call(t(), 'GET', `/v1/admin/tenants/${enc(need(f, 'tenant'))}/subscription`),
  },
  {
    name: 'subscription set',
    usage:
      '--tenant <id> [--plan <id>] [--start-at ISO] [--trial-days N] [--effective-at ISO] [--cancel-at-period-end true|false] [--tax-rate 0.2]',
    run: (f, t) =>
      call(t(), 'PUT', `/v1/admin/tenants/${enc(need(f, 'tenant'))}/subscription`, {
        ...(f.plan ? { planId: f.plan } : {}),
        ...(f['start-at'] ? { startAt: f['start-at'] } : {}),
        ...(f['trial-days'] ? { trialDays: Number(f['trial-days']) } : {}),
        ...(f['effective-at'] ? { effectiveAt: f['effective-at'] } : {}),
        ...(f['cancel-at-period-end'] !== undefined ? { cancelAtPeriodEnd: f['cancel-at-period-end'] !== 'false' } : {}),
        ...(f['tax-rate'] ? { taxRate: f['tax-rate'] } : {}),
      }),
  },
  { name: 'quotas list', usage: '--tenant <id>', run: (f, t) => call(t(), 'GET', `/v1/admin/tenants/${enc(need(f, 'tenant'))}/quotas`) },
  {
    name: 'quotas set',
    usage: '--tenant <id> --meter <key> --limit 1000   (per billing period; see README "Quotas")',
    run: (f, t) =>
      call(t(), 'PUT', `/v1/admin/tenants/${enc(need(f, 'tenant'))}/quotas/${enc(need(f, 'meter'))}`, { limit: need(f, 'limit') }),
  },
  {
    name: 'quotas delete',
    usage: '--tenant <id> --meter <key>',
    run: (f, t) => call(t(), 'DELETE', `/v1/admin/tenants/${enc(need(f, 'tenant'))}/quotas/${enc(need(f, 'meter'))}`),
  },
  {
    name: 'invoices reissue',
    usage: '--tenant <id> --invoice INV-2026-000001   (voids it; a new number prices the same period from the counters now)',
    run: (f, t) => call(t(), 'POST', `/v1/admin/tenants/${enc(need(f, 'tenant'))}/invoices/${enc(need(f, 'invoice'))}/reissue`),
  },
  { name: 'billing pauses', usage: '', run: (_f, t) => call(t(), 'GET', '/v1/admin/billing/pauses') },
  {
    name: 'billing pause',
    usage: '[--tenant <id>] --reason "..."   (no --tenant: every tenant; metering goes on)',
    run: (f, t) =>
      call(t(), 'PUT', f.tenant ? `/v1/admin/tenants/${enc(f.tenant)}/billing/pause` : '/v1/admin/billing/pause', {
        reason: need(f, 'reason'),
      }),
  },
  {
    name: 'billing resume',
    usage: '[--tenant <id>]   (the next invoice and report runs catch up, once)',
    run: (f, t) => call(t(), 'DELETE', f.tenant ? `/v1/admin/tenants/${enc(f.tenant)}/billing/pause` : '/v1/admin/billing/pause'),
  },
  {
    name: 'invoices list',
    usage: '--tenant <id>',
    run: (f, t) => call(t(), 'GET', `/v1/admin/tenants/${enc(need(f, 'tenant'))}/invoices`),
  },
  {
    name: 'invoices status',
    usage: '--tenant <id> --invoice INV-2026-000001 --status paid|void|uncollectible',
    run: (f, t) =>
      call(t(), 'POST', `/v1/admin/tenants/${enc(need(f, 'tenant'))}/invoices/${enc(need(f, 'invoice'))}/status`, {
        status: need(f, 'status'),
      }),
  },
];
