import * as z from '../kernel/zod-mini.js';

/**
 * How a meter folds its events into one number per period.
 * SUM and COUNT add up, MAX keeps the largest value, LATEST keeps the value of the event with the
 * newest timestamp (gauges such as storage), UNIQUE_COUNT counts distinct values (seats, active users).
 */
export const aggregations = ['SUM', 'COUNT', 'MAX', 'LATEST', 'UNIQUE_COUNT'] as const;
export type Aggregation = (typeof aggregations)[number];

const identifier = /^[a-z][a-z0-9_]{0,62}$/;
const propertyName = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

export const meterKeySchema = z.string().check(z.regex(identifier, 'must be lower_snake_case, 1-63 characters'));

export const meterSchema = z.object({
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
});

export type Meter = z.infer<typeof meterSchema>;

/** Input of the admin API: the key comes from the path. */
export const meterDefinitionSchema = z.omit(meterSchema, { key: true });

/**
 * Meter definitions by tenant, cached in memory: ingest reads them on every request and they change
 * rarely. A changed meter reaches every warm function within `ttlMs`.
 */
export function cachedMeters(load: (tenantId: string) => Promise<Meter[]>, ttlMs: number, now: () => number = Date.now) {
  const cache = new Map<string, { at: number; meters: Promise<ReadonlyMap<string, Meter>> }>();
  return (tenantId: string): Promise<ReadonlyMap<string, Meter>> => {
    const hit = cache.get(tenantId);
    if (hit && now() - hit.at < ttlMs) return hit.meters;
    const meters = load(tenantId).then((list) => new Map(list.map((m) => [m.key, m])));
    cache.set(tenantId, { at: now(), meters });
    meters.catch(() => cache.delete(tenantId));
    return meters;
  };
}
