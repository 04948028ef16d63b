import * as z from 'zod';
import { ClientError } from '../kernel/errors.js';
import { instantText } from '../kernel/instants.js';
import { numberField } from '../kernel/json-fields.js';
import { tenantIdSchema } from '../tenancy/tenants.js';
import { type Plan, type PlanDefinition, parsePlanRef, planDefinitionSchema, refOf, versionOf } from './plans.js';
import { hasEnded, periodAt, planIdAt, type Subscription } from './subscriptions.js';

/**
 * A plan is a series of immutable versions. Publishing adds the next version with the instant it takes effect;
 * from then on new subscriptions and plan changes take it, while every subscription already on the plan stays on
 * the version it was on (grandfathered) until a migration moves it. A subscription names its version by the plan
 * reference it holds (`planRef`), so invoices, alerts and the Stripe mirror price each tenant on its own version
 * with no other change.
 */

/** `POST /v1/admin/plans/{planId}/versions`: the whole definition of the next version, and when it takes effect (default: now). */
export const versionRequestSchema = planDefinitionSchema.extend({ effectiveAt: z.optional(instantText) });
export type VersionRequest = z.infer<typeof versionRequestSchema>;

const iso = (t: number) => new Date(t).toISOString();

/** Stored plans come back with their keys in any order: compare definitions by content. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, canonical(v)]),
    );
  return value;
}

export function definitionOf(plan: Plan): PlanDefinition {
  const { id: _id, version: _version, effectiveAt: _effectiveAt, ...definition } = plan;
  return definition;
}

export const sameDefinition = (plan: Plan, definition: PlanDefinition): boolean =>
  JSON.stringify(canonical(definitionOf(plan))) === JSON.stringify(canonical(definition));

/** `versions` in ascending order; the version in effect at `instant` is the latest that took effect by then. */
export function versionAt(versions: readonly Plan[], instant: number): Plan {
  let current = versions[0]!;
  for (const v of versions) if (v.effectiveAt === undefined || Date.parse(v.effectiveAt) <= instant) current = v;
  return current;
}

/**
 * The next version of a plan whose versions are `versions` (ascending, at least the first). It keeps the plan's
 * currency and interval (subscriptions move between versions, and a subscription bills in one of each), takes
 * effect no earlier than now (the past is invoiced on the versions that were in effect) and no earlier than the
 * latest version.
 */
export function nextVersion(versions: readonly Plan[], definition: PlanDefinition, effectiveAt: number, now: number): Plan {
  const latest = versions.at(-1)!;
  for (const field of ['currency', 'interval'] as const)
    if (definition[field] !== latest[field])
      throw new ClientError(
        'CONFLICT',
        `plan ${latest.id} bills in ${latest.currency} every ${latest.interval}; a version keeps both (create a new plan instead)`,
        field,
      );
  if (effectiveAt < now) throw new ClientError('INVALID_REQUEST', 'a version cannot take effect in the past', 'effectiveAt');
  if (latest.effectiveAt && effectiveAt < Date.parse(latest.effectiveAt))
    throw new ClientError(
      'CONFLICT',
      `version ${versionOf(latest)} takes effect at ${latest.effectiveAt}; a later version cannot precede it`,
      'effectiveAt',
    );
  return { id: latest.id, ...definition, version: versionOf(latest) + 1, effectiveAt: iso(effectiveAt) };
}

/** `POST /v1/admin/plans/{planId}/migrations`: which subscriptions move to which version, and when. */
export const migrationRequestSchema = z.strictObject({
  /** The version to move to. Default: the latest. */
  version: numberField(z.number().int().min(1)).optional(),
  /** Only these tenants. Default: every subscription on the plan. */
  tenants: z.array(tenantIdSchema).min(1).max(1000).optional(),
  /** Only subscriptions on one of these versions. Default: every version but the target. */
  fromVersions: z
    .array(numberField(z.number().int().min(1)))
    .min(1)
    .optional(),
  /** `next_period`: each subscription at its own next period boundary; or one instant for all. */
  at: z.union([z.literal('next_period'), instantText]).default('next_period'),
});
export type MigrationRequest = z.infer<typeof migrationRequestSchema>;

/**
 * When `sub` moves to `target` under `at`: its first period boundary after `now` (and not before the version takes
 * effect), or the instant given, which must not precede the version.
 */
export function migrationInstant(sub: Subscription, target: Plan, at: MigrationRequest['at'], now: number): number {
  const effective = target.effectiveAt ? Date.parse(target.effectiveAt) : 0;
  if (at !== 'next_period') {
    const instant = Date.parse(at);
    if (instant < effective) throw new ClientError('CONFLICT', `version ${versionOf(target)} takes effect at ${target.effectiveAt}`, 'at');
    return instant;
  }
  const from = Math.max(now, Date.parse(sub.startedAt));
  const next = periodAt(sub, from).end;
  if (next >= effective) return next;
  const holding = periodAt(sub, effective);
  return holding.start === effective ? effective : holding.end;
}

/** Whether the request moves `sub`: on the plan at that instant, on another version than the target, chosen by the request. */
export function isMigrated(sub: Subscription, target: Plan, req: MigrationRequest, instant: number): boolean {
  if (hasEnded(sub, instant) || instant < Date.parse(sub.startedAt)) return false;
  const on = parsePlanRef(planIdAt(sub, instant));
  if (on.planId !== target.id || on.version === versionOf(target)) return false;
  if (req.tenants && !req.tenants.includes(sub.tenantId)) return false;
  return !req.fromVersions || req.fromVersions.includes(on.version);
}

/**
 * The reference a subscription takes for `planId` at `instant`: the version it is on already when it is on that
 * plan (only a migration changes versions), else the version in effect then.
 */
export function refFor(sub: Subscription | undefined, versions: readonly Plan[], instant: number): string {
  const latest = versions.at(-1)!;
  const held = sub ? planIdAt(sub, instant) : undefined;
  if (held && parsePlanRef(held).planId === latest.id) return held;
  return refOf(versionAt(versions, instant));
}
