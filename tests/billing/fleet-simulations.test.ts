import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FLEET_CSV_HEADER, fleetCsvRows, simulateFleet, simulateTenant } from '../../shared/billing/fleet-simulations.js';
import { Dec } from '../../shared/kernel/decimal.js';
import { sumMoney } from '../../shared/kernel/money.js';
import { candidate, fleetOf, onCandidate, tenantArb } from './fleet-world.js';

describe('simulating a price change across the fleet', () => {
  it('its totals equal pricing each tenant one by one (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(tenantArb, { minLength: 1, maxLength: 12 }), async (generated) => {
        const { reads, tenants } = await fleetOf(generated);
        const fleet = await simulateFleet(reads, candidate, tenants);

        const issued = tenants.map((t) =>
          sumMoney(
            t.invoices.map((i) => i.subtotal),
            'USD',
          ),
        );
        const simulated = await Promise.all(tenants.map((t) => onCandidate(reads, t.sub, t.invoices)));
        expect(fleet.tenants).toBe(tenants.length);
        expect(fleet.changes.map((c) => [c.tenantId, c.issued, c.simulated])).toEqual(
          tenants.map((t, i) => [t.sub.tenantId, issued[i], simulated[i]]),
        );
        expect(
          sumMoney(
            fleet.revenue.map((r) => r.issued),
            'USD',
          ),
        ).toBe(sumMoney(issued, 'USD'));
        expect(
          sumMoney(
            fleet.revenue.map((r) => r.simulated),
            'USD',
          ),
        ).toBe(sumMoney(simulated, 'USD'));
        expect(fleet.revenue.reduce((n, r) => n + r.tenants, 0)).toBe(generated.reduce((n, g) => n + g.usage.length, 0));

        const { more, less, same, percentiles } = fleet.distribution;
        expect(more + less + same).toBe(tenants.length);
        const differences = fleet.changes.map((c) => c.difference);
        const ranks = [percentiles.p10, percentiles.p25, percentiles.p50, percentiles.p75, percentiles.p90];
        for (const p of ranks) expect(differences).toContain(p);
        for (let i = 1; i < ranks.length; i++) expect(new Dec(ranks[i]!).greaterThanOrEqualTo(ranks[i - 1]!)).toBe(true);
        expect(fleet.largestIncreases.length).toBe(Math.min(more, 10));
        expect(
          fleet.largestIncreases.every((c, i, all) => i === 0 || new Dec(c.difference).lessThanOrEqualTo(all[i - 1]!.difference)),
        ).toBe(true);
        expect(fleet.largestDecreases.length).toBe(Math.min(less, 10));
        expect(fleet.largestDecreases.every((c) => new Dec(c.difference).isNegative())).toBe(true);
      }),
      { numRuns: 25 },
    );
  });

  it('names tenants that would cross an alert threshold of the new quotas, and writes a CSV row per tenant and period', async () => {
    const { reads, tenants } = await fleetOf([
      // Enterprise is unlimited: 7,000 calls (87.5% of the candidate's 8,000) and 12 seats (over its 10) cross 80% and 100%.
      { plan: 'enterprise', startDay: 0, usage: [[0, 7000, 12]] },
      // Professional: 9,000 calls were 90% of its 10,000 (80% reached), and are 112.5% of 8,000: 100% crossed.
      { plan: 'professional', startDay: 0, usage: [[0, 9000, 1]] },
    ]);
    const fleet = await simulateFleet(reads, candidate, tenants);
    expect(fleet.crossings.map((c) => `${c.tenantId} ${c.meter} ${c.quantity}/${c.included} ${c.threshold}%`)).toEqual([
      't-0 api_calls 7000/8000 80%',
      't-0 seats 12/10 100%',
      't-1 api_calls 9000/8000 100%',
    ]);
    // t-0: $2,999 → $899 + 2 seats × $8 = $915; t-1: $999 → $899 + 1,000 calls × $0.09 = $989.
    const outcomes = await Promise.all(tenants.map((t) => simulateTenant(reads, candidate, t)));
    expect(
      FLEET_CSV_HEADER +
        fleetCsvRows(
          outcomes.filter((o) => o !== undefined),
          'USD',
        ),
    ).toBe(
      'tenant_id,period_start,issued,simulated,difference,percent\r\n' +
        't-0,2026-01-01T00:00:00.000Z,2999.00,915.00,-2084.00,-69.5\r\n' +
        't-1,2026-01-01T00:00:00.000Z,999.00,989.00,-10.00,-1.0\r\n',
    );
    expect(fleet.revenue).toEqual([{ period: '2026-01', tenants: 2, issued: '3998.00', simulated: '1904.00', difference: '-2094.00' }]);
  });

  it('leaves out a tenant billing in another currency, and counts it', async () => {
    const { reads, tenants } = await fleetOf([{ plan: 'starter', startDay: 0, usage: [[0, 0, 0]] }]);
    const euro = { ...tenants[0]!, sub: { ...tenants[0]!.sub, tenantId: 'eu', currency: 'EUR' as const } };
    const fleet = await simulateFleet(reads, candidate, [...tenants, euro]);
    expect(fleet).toMatchObject({ tenants: 1, skipped: 1 });
  });
});
