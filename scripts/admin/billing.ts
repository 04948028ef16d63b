import { readFileSync, writeFileSync } from 'node:fs';
import type { FleetSimulationJob } from '../../shared/billing/fleet-simulation-job.js';
import { call, type Target } from './client.js';
import { type Command, need, type Option, type Output, tenantOption, text } from './command.js';
import { activityLine } from './progress.js';
import { render, table } from './render.js';

const enc = encodeURIComponent;
const planOption: Record<string, Option> = { plan: { type: 'string', description: 'plan id', required: true, value: '<id>' } };
const meterOption: Record<string, Option> = { meter: { type: 'string', description: 'meter key', required: true, value: '<key>' } };
const invoiceOption: Record<string, Option> = {
  invoice: { type: 'string', description: 'invoice number', required: true, value: 'INV-2026-000001' },
};
const pauseScope: Record<string, Option> = { tenant: { type: 'string', description: 'one tenant (default: every tenant)', value: '<id>' } };
const pausePath = (tenant: string | undefined) => (tenant ? `/v1/admin/tenants/${enc(tenant)}/billing/pause` : '/v1/admin/billing/pause');

/** Plans, subscriptions, credits, quotas, invoices and billing pauses over the billing admin API. */
export const billingCommands: Command[] = [
  { name: 'plans list', summary: 'list plans (stored and seeds)', options: {}, run: (_f, t) => call(t(), 'GET', '/v1/admin/plans') },
  {
    name: 'plans show',
    summary: 'show a plan',
    options: planOption,
    run: (f, t) => call(t(), 'GET', `/v1/admin/plans/${enc(need(f, 'plan'))}`),
  },
  {
    name: 'plans put',
    summary: 'define a plan',
    options: {
      ...planOption,
      file: {
        type: 'string',
        description: 'name, currency, interval, baseFee, prices (docs/billing.md)',
        required: true,
        value: 'plan.json',
      },
    },
    run: (f, t) => call(t(), 'PUT', `/v1/admin/plans/${enc(need(f, 'plan'))}`, JSON.parse(readFileSync(need(f, 'file'), 'utf8'))),
  },
  {
    name: 'plans versions',
    summary: "list a plan's versions, first to latest, and which is in effect (docs/pricing-changes.md)",
    options: planOption,
    run: (f, t) => call(t(), 'GET', `/v1/admin/plans/${enc(need(f, 'plan'))}/versions`),
    render: (result) => {
      const { current, versions } = result as { current: number; versions: Record<string, unknown>[] };
      return table(
        versions.map((v) => ({
          version: v.version ?? 1,
          effectiveAt: v.effectiveAt ?? '(created)',
          name: v.name,
          baseFee: `${v.baseFee} ${v.currency}`,
          meters: Object.keys(v.prices as object).join(' '),
          current: (v.version ?? 1) === current ? '*' : '',
        })),
      );
    },
  },
  {
    name: 'plans publish',
    summary: 'publish the next version of a plan; subscriptions stay on theirs until migrated (docs/pricing-changes.md)',
    options: {
      ...planOption,
      file: {
        type: 'string',
        description: 'the whole definition: name, currency, interval, baseFee, prices',
        required: true,
        value: 'plan.json',
      },
      'effective-at': { type: 'string', description: 'when it takes effect (default now)', value: 'ISO 8601' },
    },
    run: (f, t) => {
      const effectiveAt = text(f, 'effective-at');
      const definition = JSON.parse(readFileSync(need(f, 'file'), 'utf8'));
      return call(t(), 'POST', `/v1/admin/plans/${enc(need(f, 'plan'))}/versions`, {
        ...definition,
        ...(effectiveAt ? { effectiveAt } : {}),
      });
    },
  },
  {
    name: 'subscriptions migrate',
    summary: "move subscriptions to a plan's version at their next period boundary or at an instant (docs/pricing-changes.md)",
    options: {
      ...planOption,
      version: { type: 'string', description: 'the version to move to (default the latest)', value: '<n>' },
      tenants: { type: 'string', description: 'only these tenants (default every subscription on the plan)', value: 'a,b,c' },
      'from-versions': { type: 'string', description: 'only subscriptions on these versions', value: '1,2' },
      at: { type: 'string', description: 'next_period (default) or one instant for all', value: 'next_period|ISO 8601' },
    },
    run: (f, t) => {
      const [version, tenants, from, at] = ['version', 'tenants', 'from-versions', 'at'].map((name) => text(f, name));
      const list = (v: string) => v.split(',').map((x) => x.trim());
      return call(t(), 'POST', `/v1/admin/plans/${enc(need(f, 'plan'))}/migrations`, {
        ...(version ? { version: Number(version) } : {}),
        ...(tenants ? { tenants: list(tenants) } : {}),
        ...(from ? { fromVersions: list(from).map(Number) } : {}),
        ...(at ? { at } : {}),
      });
    },
  },
  {
    name: 'simulate',
    summary:
      "re-price a tenant's last invoiced periods on a plan version or a definition, beside its invoices; without --tenant, the whole fleet's as a job (docs/pricing-changes.md)",
    options: {
      tenant: { type: 'string', description: 'one tenant (default: every subscribed tenant, as a job)', value: '<id>' },
      plan: { type: 'string', description: 'a plan id (or --file)', value: '<id>' },
      version: { type: 'string', description: "the plan's version (default the one in effect)", value: '<n>' },
      file: { type: 'string', description: 'a whole plan definition to try instead of a stored plan', value: 'plan.json' },
      periods: { type: 'string', description: 'how many invoiced periods (1-12, default 3)', value: '<n>' },
      csv: { type: 'string', description: "the fleet's: write a row per tenant and period to this file", value: 'FILE' },
    },
    notes: 'Without --tenant the worker picks the job up within a minute; progress is drawn on stderr until it ends.',
    run: async (f, t, io) => {
      const [tenant, plan, version, file, periods, csv] = ['tenant', 'plan', 'version', 'file', 'periods', 'csv'].map((name) =>
        text(f, name),
      );
      const body = {
        ...(tenant ? { tenantId: tenant } : {}),
        ...(plan ? { planId: plan } : {}),
        ...(version ? { version: Number(version) } : {}),
        ...(file ? { definition: JSON.parse(readFileSync(file, 'utf8')) } : {}),
        ...(periods ? { periods: Number(periods) } : {}),
      };
      if (tenant) return call(t(), 'POST', '/v1/admin/simulations', body);
      const started = (await call(t(), 'POST', '/v1/admin/simulations', body)) as FleetJob;
      const job = await followSimulation(t(), started.jobId, io.stderr);
      if (csv && job.status === 'succeeded') writeFileSync(csv, await simulationCsv(t(), job));
      return job;
    },
    render: (result) => ('jobId' in (result as object) ? renderFleet(result as FleetJob) : renderTenant(result)),
  },
  {
    name: 'subscription show',
    summary: "show a tenant's subscription, its plan timeline and history",
    options: tenantOption,
    run: (f, t) => call(t(), 'GET', `/v1/admin/tenants/${enc(need(f, 'tenant'))}/subscription`),
  },
  {
    name: 'subscription set',
    summary: 'create or change a subscription',
    options: {
      ...tenantOption,
      plan: { type: 'string', description: 'plan id', value: '<id>' },
      'start-at': { type: 'string', description: 'start of a new subscription', value: 'ISO 8601' },
      'trial-days': { type: 'string', description: 'trial length of a new subscription', value: '<days>' },
      'effective-at': { type: 'string', description: 'when a plan change takes effect (default now)', value: 'ISO 8601' },
      'cancel-at-period-end': { type: 'string', description: 'cancel (true) or revoke a cancellation (false)', value: 'true|false' },
      'tax-rate': { type: 'string', description: 'tax rate as a decimal', value: '0.2' },
      'time-zone': {
        type: 'string',
        description: 'the IANA zone its periods and days follow (default UTC); a change applies from the next period',
        value: 'Australia/Sydney',
      },
      'prepaid-overdraft': {
        type: 'string',
        description: 'prepaid-only terms with this overdraft; "none" lifts them (docs/billing.md)',
        value: '25.00|none',
      },
      threshold: {
        type: 'string',
        description: 'progressive billing: invoice when the period reaches this amount; "none" falls back to the plan\'s (docs/billing.md)',
        value: '1000.00|none',
      },
      'threshold-every': { type: 'string', description: 'with --threshold: invoice again every further amount', value: '1000.00' },
    },
    run: (f, t) => {
      const [plan, startAt, trialDays, effectiveAt, cancel, taxRate, timeZone, overdraft, threshold, every] = [
        'plan',
        'start-at',
        'trial-days',
        'effective-at',
        'cancel-at-period-end',
        'tax-rate',
        'time-zone',
        'prepaid-overdraft',
        'threshold',
        'threshold-every',
      ].map((name) => text(f, name));
      return call(t(), 'PUT', `/v1/admin/tenants/${enc(need(f, 'tenant'))}/subscription`, {
        ...(plan ? { planId: plan } : {}),
        ...(startAt ? { startAt } : {}),
        ...(trialDays ? { trialDays: Number(trialDays) } : {}),
        ...(effectiveAt ? { effectiveAt } : {}),
        ...(cancel !== undefined ? { cancelAtPeriodEnd: cancel !== 'false' } : {}),
        ...(taxRate ? { taxRate } : {}),
        ...(timeZone ? { timeZone } : {}),
        ...(overdraft ? { prepaid: overdraft === 'none' ? null : { overdraft } } : {}),
        ...(threshold || every ? { thresholds: threshold === 'none' ? null : { amount: threshold, ...(every ? { every } : {}) } } : {}),
      });
    },
  },
  {
    name: 'credits list',
    summary: "list a tenant's credit grants with what is left of each, and its credit ledger",
    options: tenantOption,
    run: (f, t) => call(t(), 'GET', `/v1/admin/tenants/${enc(need(f, 'tenant'))}/credits`),
  },
  {
    name: 'credits grant',
    summary: 'grant prepaid credits: an amount in the plan currency, or units of one meter (docs/billing.md)',
    options: {
      ...tenantOption,
      amount: { type: 'string', description: 'the amount, a decimal', required: true, value: '500.00' },
      source: { type: 'string', description: 'where the credits come from', required: true, value: 'purchased|promotional|manual' },
      meter: { type: 'string', description: 'a grant of units of this meter instead of money', value: '<key>' },
      priority: { type: 'string', description: 'lower burns first (0-100, default 50)', value: '<n>' },
      'effective-at': { type: 'string', description: 'when it takes effect (default now)', value: 'ISO 8601' },
      'expires-at': { type: 'string', description: 'when what is left of it expires', value: 'ISO 8601' },
      monthly: { type: 'boolean', description: 'a monthly allowance: granted again each month, the rest expiring' },
      description: { type: 'string', description: 'shown with the grant', value: '"..."' },
    },
    run: (f, t) => {
      const [meter, priority, effectiveAt, expiresAt, description] = ['meter', 'priority', 'effective-at', 'expires-at', 'description'].map(
        (name) => text(f, name),
      );
      return call(t(), 'POST', `/v1/admin/tenants/${enc(need(f, 'tenant'))}/credits`, {
        amount: need(f, 'amount'),
        source: need(f, 'source'),
        ...(meter ? { meter } : {}),
        ...(priority ? { priority: Number(priority) } : {}),
        ...(effectiveAt ? { effectiveAt } : {}),
        ...(expiresAt ? { expiresAt } : {}),
        ...(f.monthly ? { recurrence: 'monthly' } : {}),
        ...(description ? { description } : {}),
      });
    },
  },
  {
    name: 'credits void',
    summary: 'void a grant: what is left of it leaves the balance',
    options: { ...tenantOption, grant: { type: 'string', description: 'grant id', required: true, value: '<id>' } },
    run: (f, t) => call(t(), 'POST', `/v1/admin/tenants/${enc(need(f, 'tenant'))}/credits/${enc(need(f, 'grant'))}/void`),
  },
  {
    name: 'quotas list',
    summary: "list a tenant's hard quotas",
    options: tenantOption,
    run: (f, t) => call(t(), 'GET', `/v1/admin/tenants/${enc(need(f, 'tenant'))}/quotas`),
  },
  {
    name: 'quotas set',
    summary: 'set a hard quota per billing period (docs/api.md, "Quotas")',
    options: {
      ...tenantOption,
      ...meterOption,
      limit: { type: 'string', description: 'the limit, a decimal', required: true, value: '1000' },
    },
    run: (f, t) =>
      call(t(), 'PUT', `/v1/admin/tenants/${enc(need(f, 'tenant'))}/quotas/${enc(need(f, 'meter'))}`, { limit: need(f, 'limit') }),
  },
  {
    name: 'quotas delete',
    summary: 'remove a hard quota',
    options: { ...tenantOption, ...meterOption },
    run: (f, t) => call(t(), 'DELETE', `/v1/admin/tenants/${enc(need(f, 'tenant'))}/quotas/${enc(need(f, 'meter'))}`),
  },
  {
    name: 'invoices list',
    summary: "list a tenant's invoices",
    options: tenantOption,
    run: (f, t) => call(t(), 'GET', `/v1/admin/tenants/${enc(need(f, 'tenant'))}/invoices`),
  },
  {
    name: 'invoices status',
    summary: 'move an invoice along its status machine',
    options: {
      ...tenantOption,
      ...invoiceOption,
      status: { type: 'string', description: 'the new status', required: true, value: 'paid|void|uncollectible' },
    },
    run: (f, t) =>
      call(t(), 'POST', `/v1/admin/tenants/${enc(need(f, 'tenant'))}/invoices/${enc(need(f, 'invoice'))}/status`, {
        status: need(f, 'status'),
      }),
  },
  {
    name: 'invoices reissue',
    summary: 'void the latest invoice and price its period again from the counters, under the next number',
    options: { ...tenantOption, ...invoiceOption },
    run: (f, t) => call(t(), 'POST', `/v1/admin/tenants/${enc(need(f, 'tenant'))}/invoices/${enc(need(f, 'invoice'))}/reissue`),
  },
  { name: 'billing pauses', summary: 'list billing pauses', options: {}, run: (_f, t) => call(t(), 'GET', '/v1/admin/billing/pauses') },
  {
    name: 'billing pause',
    summary: 'stop invoicing and Stripe reporting (metering goes on)',
    options: { ...pauseScope, reason: { type: 'string', description: 'why, for the record', required: true, value: '"..."' } },
    run: (f, t) => call(t(), 'PUT', pausePath(text(f, 'tenant')), { reason: need(f, 'reason') }),
  },
  {
    name: 'billing resume',
    summary: 'resume billing; the next invoice and report runs catch up, once',
    options: pauseScope,
    run: (f, t) => call(t(), 'DELETE', pausePath(text(f, 'tenant'))),
  },
];

type FleetJob = FleetSimulationJob & { csvParts?: number };

/** Follows a fleet simulation until it ends, drawing its progress on `out`. */
async function followSimulation(target: Target, jobId: string, out: Output): Promise<FleetJob> {
  const line = activityLine(out);
  try {
    for (;;) {
      const job = (await call(target, 'GET', `/v1/admin/simulations/${enc(jobId)}`)) as FleetJob;
      const p = job.progress;
      line.update(
        `simulation ${job.status} · ${p.tenants.toLocaleString('en-US')} of ${p.subscriptions.toLocaleString('en-US')} tenants priced · ${p.skipped} skipped`,
      );
      if (job.status === 'succeeded' || job.status === 'failed') return job;
      await new Promise((done) => setTimeout(done, 1_000));
    }
  } finally {
    line.end();
  }
}

/** The CSV's parts joined under one header row. */
async function simulationCsv(target: Target, job: FleetJob): Promise<string> {
  let out = '';
  for (let part = 1; part <= (job.csvParts ?? 1); part++) {
    const res = await fetch(`${target.apiUrl}/v1/admin/simulations/${enc(job.jobId)}/csv?part=${part}`, {
      headers: { authorization: `Bearer ${target.adminKey}` },
    });
    if (!res.ok) throw new Error(`${res.status}: ${await res.text()}`);
    const text = await res.text();
    out += part === 1 ? text : text.slice(text.indexOf('\r\n') + 2);
  }
  return out;
}

function renderTenant(result: unknown): string {
  const sim = result as {
    candidate: { planId: string; version?: number; name: string };
    currency: string;
    periods: { periodStart: string; periodEnd: string; invoiceId: string; issued: string; simulated: string; difference: string }[];
    issued: string;
    simulated: string;
    difference: string;
  };
  const on = `${sim.candidate.name} (${sim.candidate.planId}${sim.candidate.version ? ` v${sim.candidate.version}` : ''})`;
  const rows = sim.periods.map((p) => ({
    period: `${p.periodStart.slice(0, 10)}..${p.periodEnd.slice(0, 10)}`,
    invoice: p.invoiceId,
    issued: p.issued,
    simulated: p.simulated,
    difference: p.difference,
  }));
  const total = { period: 'total', invoice: '', issued: sim.issued, simulated: sim.simulated, difference: sim.difference };
  return `on ${on}, ${sim.currency}, before tax; --json for the lines\n${table(sim.periods.length ? [...rows, total] : [])}`;
}

/** The fleet's figures: revenue per period, how bills move, the largest changes. */
function renderFleet(job: FleetJob): string {
  const head = render({
    jobId: job.jobId,
    status: job.status,
    candidate: job.candidate.name,
    ...job.progress,
    ...(job.error ? { error: job.error } : {}),
  });
  const r = job.result;
  if (!r) return head;
  const { more, less, same, percentiles } = r.distribution;
  const changes = (title: string, list: typeof r.largestIncreases) =>
    list.length
      ? `\n${title}\n${table(list.map((x) => ({ tenant: x.tenantId, issued: x.issued, simulated: x.simulated, difference: x.difference, percent: x.percent ?? '' })))}`
      : '';
  return [
    head,
    `\nrevenue by period (${r.currency}, before tax)`,
    table(r.revenue),
    `\n${more} pay more, ${less} less, ${same} the same; change per tenant p10 ${percentiles.p10}, p25 ${percentiles.p25}, p50 ${percentiles.p50}, p75 ${percentiles.p75}, p90 ${percentiles.p90}`,
    changes('largest increases', r.largestIncreases),
    changes('largest decreases', r.largestDecreases),
    `\n${r.crossingsTotal} alert thresholds crossed (--json lists the first ${r.crossings.length})`,
  ].join('\n');
}
