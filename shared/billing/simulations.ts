import * as z from 'zod';
import { ClientError } from '../kernel/errors.js';
import { numberField } from '../kernel/json-fields.js';
import { subtractMoney, sumMoney } from '../kernel/money.js';
import { tenantIdSchema } from '../tenancy/tenants.js';
import { draftInvoice } from './invoice-drafts.js';
import type { Invoice } from './invoices.js';
import { type Plan, planDefinitionSchema, planIdSchema, versionOf } from './plans.js';
import type { BillingReads } from './ports.js';
import type { InvoiceLine } from './pricing.js';
import type { BillingPeriod, Subscription } from './subscriptions.js';

/**
 * A price simulation re-prices a tenant's invoiced periods on a candidate plan, from the counters as they stand (the
 * ledger-backed quantities the invoice job reads), with the same code that drafts invoices: what the tenant would have
 * paid, beside what it was invoiced, line by line.
 *
 * What is compared is the period's own charges: base fee, usage and the minimum-commitment true-up, before tax. The
 * issued invoice's adjustments (late usage of earlier periods) and prepaid credits are listed as not re-priced and left
 * out of both sides, so a difference is the plan's doing alone (and any late usage of the period itself, which the
 * usage lines' quantities show).
 */

/** Periods a simulation may look back: a year of monthly invoices. */
export const MAX_SIMULATED_PERIODS = 12;

const periodsField = numberField(z.number().int().min(1).max(MAX_SIMULATED_PERIODS)).default(3);

/** The candidate: a plan's version (default: in effect now) or a whole definition not stored anywhere. */
const candidateFields = {
  planId: planIdSchema.optional(),
  version: numberField(z.number().int().min(1)).optional(),
  definition: planDefinitionSchema.optional(),
};
function oneCandidate(req: { planId?: string | undefined; version?: number | undefined; definition?: unknown }, ctx: z.RefinementCtx) {
  if ((req.planId === undefined) === (req.definition === undefined))
    ctx.addIssue({
      code: 'custom',
      path: ['planId'],
      message: 'name a plan (planId, and version if not the current) or give a definition, not both',
    });
  else if (req.version !== undefined && req.planId === undefined)
    ctx.addIssue({ code: 'custom', path: ['version'], message: 'version goes with planId' });
}

/**
 * `POST /v1/admin/simulations`: one tenant's last `periods` invoiced periods on the candidate, answered at once; without
 * `tenantId`, every subscribed tenant's, as a job (./fleet-simulation-job.ts).
 */
export const simulationRequestSchema = z
  .strictObject({ tenantId: z.optional(tenantIdSchema), periods: periodsField, ...candidateFields })
  .superRefine(oneCandidate);
export type SimulationRequest = z.infer<typeof simulationRequestSchema>;

/** `GET /v1/pricing/simulate`: the caller's own periods on a public plan at its version in effect. */
export const pricingSimulationQuery = z.object({
  plan: planIdSchema,
  periods: z.coerce.number().int().min(1).max(MAX_SIMULATED_PERIODS).default(3),
});

/** An inline definition's id on the simulation's lines. */
export const CANDIDATE_ID = 'candidate';

export const simulatedAmountSchema = z.object({
  quantity: z.string().optional(),
  /** Usage under a quota: the quota included ("unlimited" or a quantity). */
  included: z.string().optional(),
  amount: z.string(),
});
export type SimulatedAmount = z.infer<typeof simulatedAmountSchema>;

export const simulationLineSchema = z.object({
  kind: z.enum(['base', 'usage', 'commitment']),
  meter: z.string().optional(),
  description: z.string(),
  issued: simulatedAmountSchema,
  simulated: simulatedAmountSchema,
  /** simulated − issued. */
  difference: z.string(),
});
export type SimulationLine = z.infer<typeof simulationLineSchema>;

export const simulatedPeriodSchema = z.object({
  periodStart: z.string(),
  periodEnd: z.string(),
  invoiceId: z.string(),
  /** The plan and version that priced the issued invoice. */
  issuedPlan: z.object({ planId: z.string(), version: z.int() }),
  lines: z.array(simulationLineSchema),
  /** Lines of the issued invoice a re-pricing of the period leaves as they are: adjustments, credits. */
  notRepriced: z.array(z.object({ description: z.string(), amount: z.string() })),
  issued: z.string(),
  simulated: z.string(),
  difference: z.string(),
});
export type SimulatedPeriod = z.infer<typeof simulatedPeriodSchema>;

/** A tenant's invoiced periods re-priced on a candidate plan (GET /v1/pricing/simulate, POST /v1/admin/simulations). */
export const simulationSchema = z.object({
  tenantId: z.string(),
  currency: z.string(),
  candidate: z.object({ planId: z.string(), version: z.int().optional(), name: z.string() }),
  periods: z.array(simulatedPeriodSchema),
  /** Sums over the periods. */
  issued: z.string(),
  simulated: z.string(),
  difference: z.string(),
});
export type Simulation = z.infer<typeof simulationSchema>;

/** A reference no stored plan can have (plan ids are lowercase letters, digits and dashes): the candidate's, in a hypothetical subscription. */
const CANDIDATE_REF = '#candidate';

/** The candidate must bill as the subscription does, so that its periods are the invoiced ones. */
export function assertComparable(sub: Subscription, candidate: Plan): void {
  if (candidate.currency !== sub.currency || candidate.interval !== sub.interval)
    throw new ClientError(
      'CONFLICT',
      `plan ${candidate.id} bills in ${candidate.currency} every ${candidate.interval}, the subscription in ${sub.currency} every ${sub.interval}`,
      'planId',
    );
}

/** The period an issued invoice closed, re-priced on `candidate` and set beside it. */
export async function simulatePeriod(reads: BillingReads, sub: Subscription, candidate: Plan, invoice: Invoice): Promise<SimulatedPeriod> {
  const hypothetical: Subscription = { ...sub, plans: [{ at: sub.startedAt, planId: CANDIDATE_REF }] };
  const candidateReads: BillingReads = { ...reads, plan: async (ref) => (ref === CANDIDATE_REF ? candidate : reads.plan(ref)) };
  const period: BillingPeriod = { start: Date.parse(invoice.periodStart), end: Date.parse(invoice.periodEnd), trial: invoice.trial };
  const draft = await draftInvoice(candidateReads, hypothetical, period, []);
  return compare(invoice, draft.lines);
}

function compare(invoice: Invoice, simulated: readonly InvoiceLine[]): SimulatedPeriod {
  const currency = invoice.currency;
  const compared = (l: InvoiceLine) => l.kind === 'base' || l.kind === 'usage' || l.kind === 'commitment';
  const issuedLines = invoice.lines.filter(compared);
  const side = (lines: InvoiceLine[]): SimulatedAmount | undefined =>
    lines.length === 0
      ? undefined
      : {
          ...(lines[0]!.kind === 'usage' ? { quantity: lines[0]!.quantity } : {}),
          ...(lines[0]!.included !== undefined ? { included: lines[0]!.included } : {}),
          amount: sumMoney(
            lines.map((l) => l.amount),
            currency,
          ),
        };
  const zero = sumMoney([], currency);
  const keys = [...new Set([...issuedLines, ...simulated].map(rowKey))];
  const lines = keys.map((key): SimulationLine => {
    const was = issuedLines.filter((l) => rowKey(l) === key);
    const now = simulated.filter((l) => rowKey(l) === key);
    const issued = side(was) ?? { amount: zero };
    const sim = side(now) ?? { amount: zero };
    const first = now[0] ?? was[0]!;
    return {
      kind: first.kind as SimulationLine['kind'],
      ...(first.meter ? { meter: first.meter } : {}),
      description: first.kind === 'base' ? 'Base fee' : first.description,
      issued,
      simulated: sim,
      difference: subtractMoney(sim.amount, issued.amount, currency),
    };
  });
  const issuedTotal = sumMoney(
    issuedLines.map((l) => l.amount),
    currency,
  );
  const simulatedTotal = sumMoney(
    simulated.map((l) => l.amount),
    currency,
  );
  return {
    periodStart: invoice.periodStart,
    periodEnd: invoice.periodEnd,
    invoiceId: invoice.id,
    issuedPlan: { planId: invoice.planId, version: invoice.planVersion ?? 1 },
    lines,
    notRepriced: invoice.lines.filter((l) => !compared(l)).map((l) => ({ description: l.description, amount: l.amount })),
    issued: issuedTotal,
    simulated: simulatedTotal,
    difference: subtractMoney(simulatedTotal, issuedTotal, currency),
  };
}

/** Base fees (one per plan segment) are compared as one row; usage per meter; the commitment true-up as one. */
const rowKey = (l: InvoiceLine) => (l.kind === 'usage' ? `usage:${l.meter}` : l.kind);

/** The tenant's `invoices` (newest first, as listed) re-priced on `candidate`, oldest period first, with their sums. */
export async function simulate(reads: BillingReads, sub: Subscription, candidate: Plan, invoices: readonly Invoice[]): Promise<Simulation> {
  assertComparable(sub, candidate);
  const periods = await Promise.all(
    invoices
      .filter((i) => i.status !== 'void')
      .toReversed()
      .map((i) => simulatePeriod(reads, sub, candidate, i)),
  );
  const total = (pick: (p: SimulatedPeriod) => string) => sumMoney(periods.map(pick), sub.currency);
  const issued = total((p) => p.issued);
  const simulated = total((p) => p.simulated);
  return {
    tenantId: sub.tenantId,
    currency: sub.currency,
    candidate: {
      planId: candidate.id,
      ...(candidate.id === CANDIDATE_ID ? {} : { version: versionOf(candidate) }),
      name: candidate.name,
    },
    periods,
    issued,
    simulated,
    difference: subtractMoney(simulated, issued, sub.currency),
  };
}
