import * as z from '../kernel/zod-mini.js';

/**
 * How a meter folds its events into one number per period.
 * SUM and COUNT add up, MAX and MIN keep the largest and smallest value, AVG is the mean of the values (its
 * counters keep the sum and the count; the division is made when the period is read), LATEST keeps the value of
 * the event with the newest timestamp (gauges such as storage, billed in unit-months sampled hourly),
 * TIME_WEIGHTED integrates a gauge held from each reading until the next, exactly, per the meter's `per` unit
 * of time (GB-hours, seat-days, GPU-minutes), UNIQUE_COUNT counts distinct values (seats, active users).
 */
export const aggregations = ['SUM', 'COUNT', 'MAX', 'MIN', 'AVG', 'LATEST', 'TIME_WEIGHTED', 'UNIQUE_COUNT'] as const;
export type Aggregation = (typeof aggregations)[number];

/** Gauges: held from each reading until the next, billed over time (LATEST in unit-months, TIME_WEIGHTED per `per`). */
export const isGauge = (a: Aggregation): boolean => a === 'LATEST' || a === 'TIME_WEIGHTED';

/** The unit of time a TIME_WEIGHTED meter's quantity is expressed in: `hour` makes GB-hours of a GB gauge. */
export const timeUnits = ['minute', 'hour', 'day', 'month'] as const;
export type TimeUnit = (typeof timeUnits)[number];

const identifier = /^[a-z][a-z0-9_]{0,62}$/;
const propertyName = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

export const meterKeySchema = z.string().check(z.regex(identifier, 'must be lower_snake_case, 1-63 characters'));

const meterFields = z.object({
  key: meterKeySchema,
  name: z.string().check(z.minLength(1), z.maxLength(200)),
  unit: z.string().check(z.minLength(1), z.maxLength(40)),
  aggregation: z.enum(aggregations),
  /**
   * Where the value sits: a property of `properties`, or, when absent, the event's top-level `value`.
   * COUNT ignores it; UNIQUE_COUNT reads the distinct value from it.
   */
  valueProperty: z.optional(z.string().check(z.regex(propertyName))),
  /** Properties whose values split the meter's counters into groups (region, model, ...). */
  groupBy: z._default(z.array(z.string().check(z.regex(propertyName))).check(z.maxLength(3)), []),
  /**
   * TIME_WEIGHTED only, and required there: the unit of time its integral is expressed in. `month` is the
   * billing period's own length, so `per: 'month'` is the time-weighted average over the period (unit-months).
   */
  per: z.optional(z.enum(timeUnits)),
});

/** `per` belongs to TIME_WEIGHTED meters, which cannot do without it. */
const perMatchesAggregation = z.refine<{ aggregation: Aggregation; per?: TimeUnit | undefined }>(
  (m) => (m.aggregation === 'TIME_WEIGHTED') === (m.per !== undefined),
  { message: "per ('minute', 'hour', 'day' or 'month') is required for a TIME_WEIGHTED meter and allowed for no other", path: ['per'] },
);

export const meterSchema = meterFields.check(perMatchesAggregation);

export type Meter = z.infer<typeof meterSchema>;

/** Input of the admin API: the key comes from the path. */
export const meterDefinitionSchema = z.omit(meterFields, { key: true }).check(perMatchesAggregation);

/**
 * Meter definitions by tenant, cached in memory for ingest, which reads them on every request. Each container
 * re-reads a tenant's definitions once they are `ttlMs` old, so a changed meter reaches every warm function within
 * that time; and at once when a request names a meter the cached definitions lack (one defined a moment ago). A name
 * a read found missing is not read for again within `ttlMs` (the negative cache), so a flood of one typo costs one
 * read a second, and the names of one request share one read. `fresh` reads them now (an admin's replay).
 */
export function cachedMeters(load: (tenantId: string) => Promise<Meter[]>, ttlMs: number, now: () => number = Date.now) {
  type Entry = { at: number; meters: Promise<ReadonlyMap<string, Meter>> };
  const cache = new Map<string, Entry>();
  const missing = new Map<string, number>();
  const read = (tenantId: string): Entry => {
    const entry: Entry = { at: now(), meters: load(tenantId).then((list) => new Map(list.map((m) => [m.key, m]))) };
    cache.set(tenantId, entry);
    entry.meters.catch(() => cache.get(tenantId) === entry && cache.delete(tenantId));
    return entry;
  };
  const key = (tenantId: string, name: string) => `${tenantId}\u0000${name}`;
  const recentlyMissing = (tenantId: string, name: string) =>
    now() - (missing.get(key(tenantId, name)) ?? Number.NEGATIVE_INFINITY) < ttlMs;
  return async (tenantId: string, named: Iterable<string> = [], fresh = false): Promise<ReadonlyMap<string, Meter>> => {
    const hit = cache.get(tenantId);
    let entry = !fresh && hit && now() - hit.at < ttlMs ? hit : read(tenantId);
    let meters = await entry.meters;
    const unknown = [...new Set(named)].filter((name) => !meters.has(name));
    if (entry === hit && unknown.some((name) => !recentlyMissing(tenantId, name))) {
      // The request's names share one re-read, and join one another request started meanwhile.
      const current = cache.get(tenantId);
      entry = current && current !== hit ? current : read(tenantId);
      meters = await entry.meters;
    }
    if (missing.size > 10_000) for (const [k, at] of missing) if (now() - at >= ttlMs) missing.delete(k);
    for (const name of unknown) if (!meters.has(name)) missing.set(key(tenantId, name), entry.at);
    return meters;
  };
}
