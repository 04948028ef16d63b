import * as z from 'zod';
import { Dec } from '../kernel/decimal.js';
import { ClientError } from '../kernel/errors.js';
import { numberField } from '../kernel/json-fields.js';
import { type Currency, currencySchema, decimalString, minorUnits, roundMoney, sumMoney } from '../kernel/money.js';
import type { Period } from '../kernel/periods.js';
import { meterKeySchema } from '../metering/meters.js';
import type { InvoiceLine } from './pricing.js';
import { shiftMonths } from './subscriptions.js';

/**
 * Prepaid credits. A grant gives a tenant an amount in its plan's currency, or units of one meter; it has
 * a priority, takes effect at an instant, may expire, and may recur monthly (an allowance that resets:
 * each cycle's remainder expires and the full amount is granted again).
 *
 * Every movement is an entry on an append-only ledger: `grant` (+), `burn` (−), `expiry` (−), `void` (−)
 * and `adjustment` (±, e.g. the reversal of a reissued invoice's entries). A grant's remaining amount is
 * the sum of its entries, never a stored number. Entries have deterministic ids, so writing a run's
 * entries twice is writing them once.
 *
 * Burn-down order: lowest `priority` number first, then the soonest expiry, then the oldest grant.
 * Burning is in time order within a period: the period is cut at every instant a grant starts, expires
 * or resets, and each stretch's usage burns the grants available during it, so a promotional grant that
 * expires mid-period pays for the usage before its expiry and only the rest expires.
 */
export const creditSources = ['purchased', 'promotional', 'manual'] as const;
export type CreditSource = (typeof creditSources)[number];

const positive = decimalString.refine((v) => new Dec(v).greaterThan(0), 'must be greater than zero');
const instant = z.iso.datetime({ offset: true });

export const grantRequestSchema = z
  .strictObject({
    /** In the plan's currency, or in `meter`'s unit when `meter` is given. */
    amount: positive,
    meter: z.optional(meterKeySchema),
    /** Lower burns first. Default 50. */
    priority: z.optional(numberField(z.number().int().min(0).max(100))),
    /** Default: now. */
    effectiveAt: instant.optional(),
    expiresAt: instant.optional(),
    recurrence: z.literal('monthly').optional(),
    source: z.enum(creditSources),
    description: z.string().min(1).max(200).optional(),
  })
  .refine((g) => !g.expiresAt || !g.effectiveAt || Date.parse(g.expiresAt) > Date.parse(g.effectiveAt), {
    message: 'must be after effectiveAt',
    path: ['expiresAt'],
  });
export type GrantRequest = z.infer<typeof grantRequestSchema>;

export const creditGrantSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  /** Money grants: the currency; unit grants have `meter` instead. */
  currency: currencySchema.optional(),
  meter: z.string().optional(),
  amount: z.string(),
  priority: z.number(),
  effectiveAt: z.string(),
  expiresAt: z.string().optional(),
  recurrence: z.literal('monthly').optional(),
  source: z.enum(creditSources),
  description: z.string().optional(),
  createdAt: z.string(),
});
export type CreditGrant = z.infer<typeof creditGrantSchema>;

export type EntryKind = 'grant' | 'burn' | 'expiry' | 'void' | 'adjustment';

export interface LedgerEntry {
  id: string;
  tenantId: string;
  grantId: string;
  kind: EntryKind;
  /** Signed, in the grant's currency or meter unit. */
  amount: string;
  at: string;
  /**
   * The invoice run that wrote it: its period's start (ISO 8601), with `#<n>` for a reissue. Entries
   * written by an admin (a grant, a void) have none.
   */
  ref?: string;
}

const iso = (t: number) => new Date(t).toISOString();

/** A new grant and its first `grant` entry. */
export function newGrant(
  tenantId: string,
  req: GrantRequest,
  o: { id: string; now: number; currency: Currency },
): { grant: CreditGrant; entry: LedgerEntry } {
  const effectiveAt = iso(req.effectiveAt ? Date.parse(req.effectiveAt) : o.now);
  const grant: CreditGrant = {
    id: o.id,
    tenantId,
    ...(req.meter ? { meter: req.meter } : { currency: o.currency }),
    amount: new Dec(req.amount).toFixed(),
    priority: req.priority ?? 50,
    effectiveAt,
    ...(req.expiresAt ? { expiresAt: iso(Date.parse(req.expiresAt)) } : {}),
    ...(req.recurrence ? { recurrence: req.recurrence } : {}),
    source: req.source,
    ...(req.description ? { description: req.description } : {}),
    createdAt: iso(o.now),
  };
  return { grant, entry: entryOf(grant, 'grant', grant.amount, Date.parse(effectiveAt), `${grant.id}/grant/0`) };
}

function entryOf(grant: CreditGrant, kind: EntryKind, amount: Dec | string, at: number, id: string, ref?: string): LedgerEntry {
  return { id, tenantId: grant.tenantId, grantId: grant.id, kind, amount: new Dec(amount).toFixed(), at: iso(at), ...(ref ? { ref } : {}) };
}

/** What is left of a grant: the sum of its entries. */
export function remaining(grantId: string, entries: readonly LedgerEntry[]): Dec {
  return entries.reduce((sum, e) => (e.grantId === grantId ? sum.plus(e.amount) : sum), new Dec(0));
}

export const isVoided = (grantId: string, entries: readonly LedgerEntry[]) =>
  entries.some((e) => e.grantId === grantId && e.kind === 'void');

/** The `void` entry that takes what is left of a grant off the balance; a grant is voided once. */
export function voidGrant(grant: CreditGrant, entries: readonly LedgerEntry[], now: number): LedgerEntry {
  if (isVoided(grant.id, entries)) throw new ClientError('CONFLICT', `grant ${grant.id} is already void`);
  return entryOf(grant, 'void', remaining(grant.id, entries).negated(), now, `${grant.id}/void`);
}

/** The start of a recurring grant's `k`th cycle (k = 0 is its effective date). */
const cycleStart = (g: CreditGrant, k: number) => shiftMonths(Date.parse(g.effectiveAt), k);

/** Cycle starts of a recurring grant within [from, to), after the first and before its expiry. */
function cycleStartsIn(g: CreditGrant, from: number, to: number): { k: number; at: number }[] {
  if (!g.recurrence) return [];
  const out: { k: number; at: number }[] = [];
  const end = g.expiresAt ? Date.parse(g.expiresAt) : Infinity;
  for (let k = 1; cycleStart(g, k) < Math.min(to, end); k++) if (cycleStart(g, k) >= from) out.push({ k, at: cycleStart(g, k) });
  return out;
}

/** When the grant's current money runs out at `t`: its expiry, or for a recurring grant the end of the cycle holding `t`. */
function expiryAt(g: CreditGrant, t: number): number {
  const end = g.expiresAt ? Date.parse(g.expiresAt) : Infinity;
  if (!g.recurrence) return end;
  let k = 0;
  while (cycleStart(g, k + 1) <= t) k++;
  return Math.min(cycleStart(g, k + 1), end);
}

/** Burn-down order at instant `t`: priority, then soonest expiry, then oldest. */
export function burnOrder(grants: readonly CreditGrant[], t: number): CreditGrant[] {
  return [...grants].sort(
    (a, b) =>
      a.priority - b.priority ||
      expiryAt(a, t) - expiryAt(b, t) ||
      Date.parse(a.effectiveAt) - Date.parse(b.effectiveAt) ||
      a.createdAt.localeCompare(b.createdAt) ||
      a.id.localeCompare(b.id),
  );
}

/** The invoice run a ref belongs to (its period's start), for comparing runs in time. */
const refPeriod = (ref: string) => Date.parse(ref.split('#')[0]!);

/** The entries a run for `period` starts from: every admin entry, and those of runs for earlier periods. */
export const entriesBefore = (entries: readonly LedgerEntry[], period: Period) =>
  entries.filter((e) => e.ref === undefined || refPeriod(e.ref) < period.start);

export interface CreditRun {
  grants: readonly CreditGrant[];
  /** The tenant's whole ledger; the run reads the part before its period (entriesBefore). */
  entries: readonly LedgerEntry[];
  period: Period;
  ref: string;
  currency: Currency;
  /** Amounts due whatever the usage (base fees, late adjustments): charged from the period's start. */
  fixed: string;
  /** Each meter's billed quantity over the period counted up to an instant; called for every `boundaries()` instant. */
  quantitiesAt: (instant: number) => Readonly<Record<string, string>>;
  /** The usage lines of quantities, priced (shared/billing/pricing.ts `usageLines`, rounded per line). */
  price: (quantities: Readonly<Record<string, string>>) => readonly InvoiceLine[];
}

export interface CreditOutcome {
  /** One line per grant burned, after the priced lines and before tax: money grants' amounts, unit grants' worth. */
  lines: InvoiceLine[];
  /** The run's entries: resets and expiries of the period, and burns. */
  entries: LedgerEntry[];
}

/** The instants a period is cut at: grants starting, resetting or expiring inside it, and its end. */
export function boundaries(grants: readonly CreditGrant[], period: Period): number[] {
  const inside = (t: number) => t > period.start && t < period.end;
  const cuts = grants.flatMap((g) => [
    Date.parse(g.effectiveAt),
    ...(g.expiresAt ? [Date.parse(g.expiresAt)] : []),
    ...cycleStartsIn(g, period.start, period.end).map((c) => c.at),
  ]);
  return [...new Set([...cuts.filter(inside), period.end])].sort((a, b) => a - b);
}

const sumLines = (lines: readonly InvoiceLine[]) => lines.reduce((s, l) => s.plus(l.amount), new Dec(0));
const net = (q: Readonly<Record<string, string>>, credited: ReadonlyMap<string, Dec>) =>
  Object.fromEntries(Object.entries(q).map(([m, v]) => [m, Dec.max(new Dec(v).minus(credited.get(m) ?? 0), 0).toFixed()]));

/**
 * Applies the tenant's credits to one period: unit grants take their meter's usage before it is priced,
 * money grants pay what is then due before tax, each stretch of the period from the grants available in
 * it. Exact: money burns are differences of amounts already rounded per line, so they are whole cents.
 */
export function applyCredits(run: CreditRun): CreditOutcome {
  const { period, ref, currency } = run;
  const ledger = [...entriesBefore(run.entries, period)];
  const out: LedgerEntry[] = [];
  const write = (e: LedgerEntry) => {
    out.push(e);
    ledger.push(e);
  };
  const live = run.grants.filter((g) => !isVoided(g.id, run.entries) && (g.meter || g.currency === currency));
  const burned = new Map<string, Dec>();
  const credited = new Map<string, Dec>();
  const available = (g: CreditGrant, t: number) =>
    Date.parse(g.effectiveAt) <= t && t < expiryAt(g, t) && remaining(g.id, ledger).greaterThan(0);
  const burn = (grants: readonly CreditGrant[], want: Dec, at: number): Dec => {
    let left = want;
    for (const g of grants) {
      if (left.lessThanOrEqualTo(0)) break;
      const take = Dec.min(left, remaining(g.id, ledger));
      write(entryOf(g, 'burn', take.negated(), at, `${g.id}/burn/${ref}/${iso(at)}`, ref));
      burned.set(g.id, (burned.get(g.id) ?? new Dec(0)).plus(take));
      left = left.minus(take);
    }
    return want.minus(left);
  };

  let prev = period.start;
  let prevQ: Readonly<Record<string, string>> = {};
  let spent = new Dec(0);
  for (const b of boundaries(live, period)) {
    // Resets first: a recurring grant's new cycle starting at the stretch's start.
    for (const g of live)
      for (const c of cycleStartsIn(g, prev, prev + 1)) write(entryOf(g, 'grant', g.amount, c.at, `${g.id}/grant/${c.k}`, ref));
    const order = burnOrder(
      live.filter((g) => available(g, prev)),
      prev,
    );
    const q = run.quantitiesAt(b);
    for (const meter of Object.keys(q).sort()) {
      const used = Dec.max(new Dec(q[meter]!).minus(prevQ[meter] ?? 0), 0);
      const took = burn(
        order.filter((g) => g.meter === meter),
        used,
        b,
      );
      if (took.greaterThan(0)) credited.set(meter, (credited.get(meter) ?? new Dec(0)).plus(took));
    }
    const due = new Dec(run.fixed).plus(sumLines(run.price(net(q, credited))));
    burn(
      order.filter((g) => !g.meter),
      Dec.max(due.minus(spent), 0),
      b,
    );
    spent = Dec.max(spent, due);
    // Expiries at the stretch's end: a grant's end, or a recurring grant's cycle.
    for (const g of live) {
      if (Date.parse(g.effectiveAt) > prev || expiryAt(g, prev) !== b) continue;
      const left = remaining(g.id, ledger);
      if (left.greaterThan(0)) write(entryOf(g, 'expiry', left.negated(), b, `${g.id}/expiry/${ref}/${iso(b)}`, ref));
    }
    prev = b;
    prevQ = q;
  }
  return { lines: creditLines(run, live, burned, prevQ), entries: out };
}

/** Money grants: what they paid. Unit grants: their units and what those units were worth at the period's prices. */
function creditLines(
  run: CreditRun,
  grants: readonly CreditGrant[],
  burned: ReadonlyMap<string, Dec>,
  quantities: Readonly<Record<string, string>>,
): InvoiceLine[] {
  const lines: InvoiceLine[] = [];
  const zero = new Dec(0);
  const usageOf = (meter: string, q: Dec) =>
    new Dec(run.price({ ...quantities, [meter]: Dec.max(q, 0).toFixed() }).find((l) => l.meter === meter)?.amount ?? 0);
  const before = new Map<string, Dec>();
  for (const g of burnOrder(grants, run.period.start)) {
    const took = burned.get(g.id);
    if (!took?.greaterThan(0)) continue;
    const label = `grant ${g.id}, ${g.source}`;
    if (g.meter) {
      const q = new Dec(quantities[g.meter] ?? 0);
      const prior = before.get(g.meter) ?? zero;
      const worth = usageOf(g.meter, q.minus(prior)).minus(usageOf(g.meter, q.minus(prior).minus(took)));
      before.set(g.meter, prior.plus(took));
      lines.push({
        kind: 'credit',
        description: `Prepaid ${g.meter} applied: ${took.toFixed()} units (${label})`,
        meter: g.meter,
        quantity: took.negated().toFixed(),
        grantId: g.id,
        amount: roundMoney(worth.negated(), run.currency),
      });
    } else {
      lines.push({
        kind: 'credit',
        description: `Prepaid credits applied (${label})`,
        quantity: '1',
        grantId: g.id,
        amount: took.negated().toFixed(minorUnits[run.currency]),
      });
    }
  }
  return lines;
}

/**
 * The adjustments that take a run's entries back off the ledger (a reissue re-derives them under its own
 * ref): each entry of `ref`, negated, under `newRef`.
 */
export function reverseRun(entries: readonly LedgerEntry[], ref: string, newRef: string, at: number): LedgerEntry[] {
  return entries
    .filter((e) => e.ref === ref)
    .map((e) => ({
      id: `${e.id}/reversed/${newRef}`,
      tenantId: e.tenantId,
      grantId: e.grantId,
      kind: 'adjustment',
      amount: new Dec(e.amount).negated().toFixed(),
      at: iso(at),
      ref: newRef,
    }));
}

export const grantStatuses = ['pending', 'active', 'expired', 'void', 'used'] as const;
export type GrantStatus = (typeof grantStatuses)[number];

/** A grant with what is left of it at some instant. */
export const grantStandingSchema = creditGrantSchema.extend({ remaining: z.string(), status: z.enum(grantStatuses) });
export type GrantStanding = z.infer<typeof grantStandingSchema>;

/** A grant as a tenant reads it, with what is left of it on the ledger. */
export function grantBalance(grant: CreditGrant, entries: readonly LedgerEntry[], now: number): GrantStanding {
  const left = remaining(grant.id, entries);
  const status: GrantStatus = isVoided(grant.id, entries)
    ? 'void'
    : Date.parse(grant.effectiveAt) > now
      ? 'pending'
      : grant.expiresAt && now >= Date.parse(grant.expiresAt)
        ? 'expired'
        : left.isZero()
          ? 'used'
          : 'active';
  return { ...grant, remaining: left.toFixed(), status };
}

/**
 * The tenant's grants as they stand at `now`, between invoices: the ledger plus what the open period's usage
 * so far burns (`running`: the entries of the open period's draft run, not written). Resets and expiries
 * still to come are not the balance yet. `balance` sums the active money grants in `currency`.
 */
export function liveBalance(
  grants: readonly CreditGrant[],
  entries: readonly LedgerEntry[],
  running: readonly LedgerEntry[],
  now: number,
  currency: Currency,
) {
  const live = [...entries, ...running.filter((e) => e.kind === 'burn' || Date.parse(e.at) <= now)];
  const standing = grants.map((g) => grantBalance(g, live, now));
  const balance = sumMoney(
    standing.filter((g) => g.currency === currency && g.status === 'active').map((g) => g.remaining),
    currency,
  );
  return { grants: standing, balance };
}
