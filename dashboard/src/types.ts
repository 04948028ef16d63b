/** The API's answers, as far as the dashboard reads them. Quantities and amounts are decimal strings. */
export interface Meter {
  key: string;
  name: string;
  unit: string;
  aggregation: string;
  groupBy: string[];
  /** TIME_WEIGHTED meters: the unit of time their quantity is in (GB-hours). */
  per?: string;
}

export interface Analytics {
  currency: string;
  asOf: string;
  period: { start: string; end: string };
  meters: {
    meter: string;
    unit: string;
    quantity: string;
    cost: string;
    quantityTrendPercent: string | null;
    costTrendPercent: string | null;
    projectedCost: string;
  }[];
  usageCost: string;
  baseFee: string;
  projectedCost: string;
}

export interface CurrentUsage {
  /** The tenant's local month, in its zone (`timeZone`). */
  period: { start: string; end: string; timeZone: string };
  meters: { meter: string; name: string; unit: string; value: string }[];
}

export interface InvoiceLine {
  kind: 'base' | 'usage' | 'adjustment';
  description: string;
  amount: string;
  meter?: string;
  unit?: string;
  quantity: string;
  included?: string;
  billable?: string;
}

export interface Invoice {
  id: string;
  number: string;
  status: string;
  currency: string;
  periodStart: string;
  periodEnd: string;
  issuedAt: string;
  /** The zone whose days the period is made of; absent: UTC. */
  timeZone?: string;
  total: string;
  subtotal: string;
  tax: string;
  taxRate: string;
  lines: InvoiceLine[];
}

export type InvoiceSummary = Pick<
  Invoice,
  'id' | 'number' | 'status' | 'currency' | 'periodStart' | 'periodEnd' | 'issuedAt' | 'timeZone' | 'total'
>;

export type Upcoming = Omit<Invoice, 'id' | 'number' | 'issuedAt'> & { asOf: string };

export interface QuotaStatus {
  meter: string;
  limit: string;
  usage: string;
  remaining: string;
}

/** One feature of the plan as the tenant has it (GET /v1/entitlements). */
export interface Entitlement {
  feature: string;
  kind: 'boolean' | 'static' | 'metered';
  hasAccess: boolean;
  value?: boolean | string;
  meter?: string;
  usage?: string;
  limit?: string;
  remaining?: string;
  resetsAt?: string;
  override?: boolean;
  reason?: 'NOT_INCLUDED' | 'LIMIT_REACHED' | 'BALANCE_EXHAUSTED';
}

/** The tenant's prepaid credits now (GET /v1/credits). */
export interface Credits {
  currency: string;
  balance: string;
  projectedBalance?: string;
  periodEnd?: string;
  units: Record<string, string>;
  grants: {
    id: string;
    currency?: string;
    meter?: string;
    amount: string;
    remaining: string;
    source: string;
    status: string;
    expiresAt?: string;
    recurrence?: string;
    description?: string;
  }[];
  prepaid?: { available: string; overdraft: string; owed: string; exhausted: boolean };
}

export type Price =
  | { model: 'free' }
  | { model: 'perUnit'; unitPrice: string }
  | { model: 'package'; packageSize: string; packagePrice: string; rounding: 'up' | 'prorated' }
  | { model: 'quota'; included: string; unitPrice: string }
  | { model: 'graduated' | 'volume'; tiers: { upTo: string | null; unitPrice: string; flatFee: string }[] };

export interface Pricing {
  plan: { id: string; name: string; currency: string; interval: string; baseFee: string; prices: Record<string, Price> };
  /** `timeZone`: the IANA zone its periods and days follow now. */
  subscription: { startedAt: string; taxRate: string; timeZone: string; cancelAt?: string; trialEnd?: string };
  currentPeriod?: { start: string; end: string; trial: boolean };
}

/** A side of a simulated line: what was invoiced, or what the candidate plan would have charged. */
export interface SimulatedAmount {
  quantity?: string;
  amount: string;
}

/** The tenant's invoiced periods re-priced on another plan (GET /v1/pricing/simulate). */
export interface Simulation {
  currency: string;
  candidate: { planId: string; version?: number; name: string };
  periods: {
    periodStart: string;
    periodEnd: string;
    invoiceId: string;
    lines: { kind: string; meter?: string; description: string; issued: SimulatedAmount; simulated: SimulatedAmount; difference: string }[];
    notRepriced: { description: string; amount: string }[];
    issued: string;
    simulated: string;
    difference: string;
  }[];
  issued: string;
  simulated: string;
  difference: string;
}

/** An anomaly or silence episode: out of range (or silent) from `start` until `resolvedAt`. */
export interface Episode {
  meter: string;
  window: 'hour' | 'day' | 'silence';
  start: string;
  direction?: 'spike' | 'drop';
  observed?: string;
  expected?: string;
  low?: string;
  high?: string;
  expectedGapMinutes?: number;
  learned?: boolean;
  firedAt: string;
  resolvedAt?: string;
  points: { at: string; value: string; low?: string; high?: string }[];
}

/** An alert rule (`kind` says what it watches) and its firing in the current period, if any. */
export type Alert = {
  id: string;
  name?: string;
  createdAt: string;
  /** Threshold rules: this period's firing. */
  firing?: { value: string; threshold: string; firedAt: string } | null;
  /** Anomaly and silence rules: the newest episodes. */
  episodes?: Episode[];
} & (
  | { kind: 'quantity'; meter: string; threshold: string }
  | { kind: 'percent'; meter: string; of: 'included' | 'quota'; percent: string }
  | { kind: 'spend'; basis: 'current' | 'projected'; amount: string }
  /** The prepaid credit balance falls to `below` or under, in the plan's currency. */
  | { kind: 'balance'; below: string }
  | { kind: 'anomaly'; meter?: string; sensitivity: 'low' | 'medium' | 'high' }
  | { kind: 'silence'; meter?: string; afterMinutes?: number }
);

export interface Whoami {
  role: 'tenant' | 'admin';
  tenant?: { id: string; name: string };
  sessionId?: string;
  expiresAt?: string;
}
